import { Module } from '@nestjs/common';
import { InferenceModule } from '../inference/inference.module';
import { InferenceController } from './inference.controller';
import { InferenceService } from './inference.service';
import { ModelsController } from './models.controller';

@Module({
  imports: [InferenceModule],
  controllers: [InferenceController, ModelsController],
  providers: [InferenceService],
})
export class ApiModule {}
