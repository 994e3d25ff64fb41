import { Injectable } from '@nestjs/common';

/**
 * Buffers that must reach the database before exit (last-used times, inference logs) register
 * here; shutdown flushes them after the HTTP server has drained and before the pool closes.
 */
@Injectable()
export class FlushRegistry {
  private readonly flushers: { name: string; flush: () => Promise<void> }[] = [];

  register(name: string, flush: () => Promise<void>): void {
    this.flushers.push({ name, flush });
  }

  async flushAll(): Promise<void> {
    await Promise.all(this.flushers.map((f) => f.flush()));
  }
}
