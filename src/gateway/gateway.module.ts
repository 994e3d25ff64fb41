import { Module } from '@nestjs/common';
import { CacheModule } from '../cache/cache.module';
import { ModelsModule } from '../models/models.module';
import { QuotaModule } from '../quota/quota.module';
import { ThrottlingModule } from '../throttling/throttling.module';
import { UsageModule } from '../usage/usage.module';
import { CompletionsController } from './completions.controller';
import { CompletionPipeline } from './completion-pipeline';
import { OutputItemsStore } from './responses/output-items.store';
import { ResponsesController } from './responses/responses.controller';
import { EmbeddingsController } from './embeddings/embeddings.controller';
import { EmbeddingsService } from './embeddings/embeddings.service';

@Module({
  imports: [ModelsModule, ThrottlingModule, QuotaModule, UsageModule, CacheModule],
  controllers: [CompletionsController, ResponsesController, EmbeddingsController],
  providers: [CompletionPipeline, EmbeddingsService, OutputItemsStore],
})
export class GatewayModule {}
