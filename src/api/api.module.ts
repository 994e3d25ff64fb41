import { Module } from '@nestjs/common';
import { CacheModule } from '../cache/cache.module';
import { InferenceModule } from '../inference/inference.module';
import { QuotaModule } from '../quota/quota.module';
import { ThrottlingModule } from '../throttling/throttling.module';
import { UsageModule } from '../usage/usage.module';
import { InferenceController } from './inference.controller';
import { InferenceService } from './inference.service';
import { ObservabilityWiring } from './observability.wiring';
import { ModelsController } from './models.controller';

@Module({
  imports: [InferenceModule, ThrottlingModule, QuotaModule, UsageModule, CacheModule],
  controllers: [InferenceController, ModelsController],
  providers: [InferenceService, ObservabilityWiring],
})
export class ApiModule {}
