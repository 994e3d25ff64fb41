import { Module } from '@nestjs/common';
import { AdminModelsController } from './admin-models.controller';
import { ModelsService } from './models.service';

@Module({
  controllers: [AdminModelsController],
  providers: [ModelsService],
  exports: [ModelsService],
})
export class InferenceModule {}
