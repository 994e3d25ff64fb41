import { Injectable } from '@nestjs/common';

export interface ReadinessResult {
  up: boolean;
  [detail: string]: unknown;
}

/** Later capabilities (models, Redis, limits) add their readiness checks here. */
@Injectable()
export class ReadinessRegistry {
  readonly checks = new Map<string, () => Promise<ReadinessResult>>();

  register(name: string, check: () => Promise<ReadinessResult>): void {
    this.checks.set(name, check);
  }
}
