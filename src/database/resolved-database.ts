import { type AppConfig } from '../config/app-config';
import { type RunningEmbeddedPostgres, startEmbeddedPostgres } from './embedded-postgres.launcher';

/** Where the database is: DATABASE_URL, or the embedded server this process started. */
export class ResolvedDatabase {
  constructor(
    readonly url: string,
    readonly embedded?: RunningEmbeddedPostgres,
  ) {}

  static async resolve(config: AppConfig, log: (line: string) => void): Promise<ResolvedDatabase> {
    if (config.database.url) return new ResolvedDatabase(config.database.url);
    const embedded = await startEmbeddedPostgres({
      dataDir: config.database.dataDir,
      port: config.database.embeddedPort,
      sharedDir: config.database.embeddedSharedDir,
      log,
    });
    log(`embedded PostgreSQL listening on 127.0.0.1:${embedded.port} (data in ${config.database.dataDir})`);
    return new ResolvedDatabase(embedded.url, embedded);
  }

  async stop(): Promise<void> {
    await this.embedded?.stop();
  }
}
