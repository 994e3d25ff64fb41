import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { Client } from 'pg';
import { ResolvedDatabase } from '../database/resolved-database';
import { KEY_CHANGED_CHANNEL } from './api-keys.repository';

type Handler = (keyId: string) => void;

/**
 * Holds one dedicated PostgreSQL connection that LISTENs for key changes made by any replica.
 * While it is not connected, `healthy` is false and the key cache must not be trusted.
 */
@Injectable()
export class KeyChangeListener implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(KeyChangeListener.name);
  private client?: Client;
  private closing = false;
  private retryTimer?: NodeJS.Timeout;
  private handlers: Handler[] = [];
  private stateHandlers: ((healthy: boolean) => void)[] = [];
  healthy = false;

  constructor(private readonly db: ResolvedDatabase) {}

  onKeyChanged(handler: Handler): void {
    this.handlers.push(handler);
  }

  onHealthChanged(handler: (healthy: boolean) => void): void {
    this.stateHandlers.push(handler);
  }

  async onModuleInit(): Promise<void> {
    await this.connect();
  }

  private async connect(): Promise<void> {
    if (this.closing) return;
    const client = new Client({ connectionString: this.db.url, application_name: 'llm-server:key-listener' });
    client.on('notification', (msg) => {
      if (msg.channel === KEY_CHANGED_CHANNEL && msg.payload) for (const h of this.handlers) h(msg.payload);
    });
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${KEY_CHANGED_CHANNEL}`);
      this.client = client;
      this.setHealthy(true);
    } catch (err) {
      this.lost(client, err as Error);
    }
  }

  private lost(client: Client, err?: Error): void {
    if (this.client && this.client !== client) return;
    this.client = undefined;
    this.setHealthy(false);
    client.removeAllListeners('end');
    client.end().catch(() => undefined);
    if (this.closing || this.retryTimer) return;
    this.logger.warn(`key change listener lost its connection${err ? `: ${err.message}` : ''}; retrying`);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.connect();
    }, 500);
    this.retryTimer.unref();
  }

  private setHealthy(v: boolean): void {
    if (this.healthy === v) return;
    this.healthy = v;
    for (const h of this.stateHandlers) h(v);
  }

  async onApplicationShutdown(): Promise<void> {
    this.closing = true;
    clearTimeout(this.retryTimer);
    const c = this.client;
    this.client = undefined;
    if (c) {
      c.removeAllListeners('end');
      await c.end().catch(() => undefined);
    }
  }
}
