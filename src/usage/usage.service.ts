import { Injectable } from '@nestjs/common';
import { ApiKeysService } from '../api-keys/api-keys.service';
import type { AuthenticatedKey } from '../api-keys/authenticated-key';
import { ApiError } from '../common/errors/api-error';
import { QuotaService } from '../quota/quota.service';
import { MAX_RANGE_DAYS } from './usage-rollup.dto';
import { UsageRecorder } from './usage.recorder';
import { DailyUsage, UsageGroup, UsageRepository, UsageTotals } from './usage.repository';

const DAY_MS = 86_400_000;
const dayOf = (d: Date) => d.toISOString().slice(0, 10);
const dateOf = (day: string) => new Date(`${day}T00:00:00Z`);

/** Usage reads: the live quota ledger for the current period, daily rollups for the rest. */
@Injectable()
export class UsageService {
  constructor(
    private readonly repo: UsageRepository,
    private readonly quota: QuotaService,
    private readonly recorder: UsageRecorder,
    private readonly keys: ApiKeysService,
  ) {}

  /** GET /v1/usage: the calling key's current period. */
  async own(key: AuthenticatedKey) {
    const snap = await this.quota.snapshot(key);
    const from = dayOf(snap.periodStart);
    const to = dayOf(new Date(snap.resetAt.getTime() - DAY_MS));
    // This replica's not yet written rows too, so a client sees its last request at once.
    const { rows, pending } = await this.recorder.readWithPending(key.id, () => this.repo.keyByModel(key.id, from, to));
    const byModel = new Map(rows.map((r) => [r.model, r]));
    for (const p of pending) {
      if (p.day < from || p.day > to) continue;
      const e = byModel.get(p.model) ?? {
        model: p.model,
        requests: 0,
        promptTokens: 0,
        completionTokens: 0,
        cachedRequests: 0,
      };
      addInto(e, p);
      byModel.set(p.model, e);
    }
    return {
      ...periodDto(snap),
      quota_tokens: snap.quotaTokens,
      by_model: [...byModel.values()]
        .sort((a, b) => a.model.localeCompare(b.model))
        .map((m) => ({
          model: m.model,
          prompt_tokens: m.promptTokens,
          completion_tokens: m.completionTokens,
          requests: m.requests,
        })),
    };
  }

  /** GET /admin/keys/{id}/usage: by period, model and day. */
  async ofKey(id: string, q: { from?: string; to?: string }) {
    const record = await this.keys.get(id);
    const snap = await this.quota.snapshot(record);
    const { from, to } = range(q.from ?? dayOf(snap.periodStart), q.to ?? dayOf(this.now()));
    const [periods, byModel, byDay] = await Promise.all([
      this.quota.periods(id, dateOf(from), new Date(dateOf(to).getTime() + DAY_MS)),
      this.repo.keyByModel(id, from, to),
      this.repo.keyByDay(id, from, to),
    ]);
    return {
      key_id: id,
      from,
      to,
      quota_tokens: snap.quotaTokens,
      current_period: periodDto(snap),
      periods: periods.map((p) => ({
        period_start: p.periodStart.toISOString(),
        used_tokens: p.used,
        reserved_tokens: p.reserved,
      })),
      by_model: byModel.map((m) => ({ model: m.model, ...totalsDto(m) })),
      by_day: byDay.map((d) => ({ day: d.day, model: d.model, ...totalsDto(d) })),
    };
  }

  /** GET /admin/usage: every key's usage grouped by model, key or day. */
  async aggregate(q: { group_by: UsageGroup; from?: string; to?: string; limit: number }) {
    const to = q.to ?? dayOf(this.now());
    const r = range(q.from ?? dayOf(new Date(dateOf(to).getTime() - 29 * DAY_MS)), to);
    const rows = await this.repo.aggregate(q.group_by, r.from, r.to, q.limit);
    const field = q.group_by === 'key' ? 'key_id' : q.group_by;
    return {
      group_by: q.group_by,
      ...r,
      data: rows.map((row) => ({
        [field]: row.group,
        ...(row.label !== undefined ? { label: row.label } : {}),
        ...totalsDto(row),
      })),
    };
  }

  private now(): Date {
    return this.quota.now();
  }
}

function range(from: string, to: string): { from: string; to: string } {
  if (from > to) throw ApiError.invalid(`from: ${from} is after to (${to})`, 'from');
  if ((dateOf(to).getTime() - dateOf(from).getTime()) / DAY_MS >= MAX_RANGE_DAYS) {
    throw ApiError.invalid(`to: a range covers at most ${MAX_RANGE_DAYS} days`, 'to');
  }
  return { from, to };
}

function periodDto(s: {
  periodStart: Date;
  resetAt: Date;
  usedTokens: number;
  reservedTokens: number;
  remainingTokens: number | null;
}) {
  return {
    period_start: s.periodStart.toISOString(),
    reset_at: s.resetAt.toISOString(),
    used_tokens: s.usedTokens,
    reserved_tokens: s.reservedTokens,
    remaining_tokens: s.remainingTokens,
  };
}

function totalsDto(t: UsageTotals) {
  return {
    requests: t.requests,
    prompt_tokens: t.promptTokens,
    completion_tokens: t.completionTokens,
    total_tokens: t.promptTokens + t.completionTokens,
    cached_requests: t.cachedRequests,
  };
}

function addInto(e: UsageTotals, p: DailyUsage): void {
  e.requests += p.requests;
  e.promptTokens += p.promptTokens;
  e.completionTokens += p.completionTokens;
  e.cachedRequests += p.cachedRequests;
}
