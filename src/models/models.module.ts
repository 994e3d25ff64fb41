import { Module } from '@nestjs/common';
import { AdminModelsController } from './admin-models.controller';
import { ModelsController } from './models.controller';
import { ModelsService } from './models.service';

@Module({
  // The public list (/v1/models) and the admin view (/admin/models) of the same registry.
  controllers: [ModelsController, AdminModelsController],
  providers: [ModelsService],
  exports: [ModelsService],
})
export class ModelsModule {}
