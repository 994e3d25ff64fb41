import { Module } from '@nestjs/common';
import { ApiKeysModule } from '../api-keys/api-keys.module';
import { QuotaModule } from '../quota/quota.module';
import { UsageRecorder } from './usage.recorder';
import { AdminUsageController, OwnUsageController } from './usage.controller';
import { UsageRepository } from './usage.repository';
import { UsageService } from './usage.service';

/** Token accounting (daily rollups, write-behind) and the usage endpoints. */
@Module({
  imports: [ApiKeysModule, QuotaModule],
  controllers: [OwnUsageController, AdminUsageController],
  providers: [UsageRepository, UsageRecorder, UsageService],
  exports: [UsageRecorder],
})
export class UsageModule {}
