import { Module } from '@nestjs/common';
import { QuotaRepository } from './quota.repository';
import { QuotaService } from './quota.service';

/** Token quotas per key and period (RedisModule, AppConfig, readiness and FlushRegistry are global). */
@Module({ providers: [QuotaRepository, QuotaService], exports: [QuotaService] })
export class QuotaModule {}
