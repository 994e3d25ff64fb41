import { Global, Module } from '@nestjs/common';
import { InferenceLogRepository } from './inference-log.repository';
import { InferenceLogRetention } from './inference-log.retention';
import { InferenceLogWriter } from './inference-log.writer';

/** inference_logs: the batched writer the pipeline records into, and its retention. */
@Global()
@Module({
  providers: [InferenceLogRepository, InferenceLogWriter, InferenceLogRetention],
  exports: [InferenceLogWriter],
})
export class InferenceLogModule {}
