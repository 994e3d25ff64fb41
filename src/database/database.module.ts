import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource, DataSourceOptions } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { buildDataSourceOptions } from './data-source-options';
import { ResolvedDatabase } from './resolved-database';
import { runMigrationsLocked } from './run-migrations';

@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [AppConfig, ResolvedDatabase],
      useFactory: (config: AppConfig, db: ResolvedDatabase) => ({
        ...buildDataSourceOptions(db.url, config.database.poolSize),
        retryAttempts: 3,
        retryDelay: 500,
      }),
      dataSourceFactory: async (options?: DataSourceOptions) => {
        // Always given with useFactory; @nestjs/typeorm declares the parameter optional.
        if (!options) throw new Error('no TypeORM options to build the DataSource from');
        const ds = await new DataSource(options).initialize();
        await runMigrationsLocked(ds);
        return ds;
      },
    }),
  ],
})
export class DatabaseModule {}
