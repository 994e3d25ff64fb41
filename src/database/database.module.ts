import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppConfig } from '../config/app-config';
import { buildDataSourceOptions } from './data-source-options';
import { ResolvedDatabase } from './resolved-database';

@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [AppConfig, ResolvedDatabase],
      useFactory: (config: AppConfig, db: ResolvedDatabase) => ({
        ...buildDataSourceOptions(db.url, config.database.poolSize),
        migrationsRun: true,
        retryAttempts: 3,
        retryDelay: 500,
      }),
    }),
  ],
})
export class DatabaseModule {}
