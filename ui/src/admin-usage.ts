import type { ApiClient } from './api-client';
import { type Bar, barChartSvg } from './chart';
import { byId } from './dom';

interface UsageRow {
  model?: string;
  key_id?: string;
  label?: string;
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  cached_requests: number;
}
type Metric = 'total_tokens' | 'completion_tokens' | 'prompt_tokens' | 'requests';

const UNITS: Record<Metric, string> = {
  total_tokens: 'tokens',
  completion_tokens: 'completion tokens',
  prompt_tokens: 'prompt tokens',
  requests: 'requests',
};

const day = (d: Date) => d.toISOString().slice(0, 10);

/** The last 30 days (UTC), the server's own default range. */
export function initUsageRange(): void {
  const to = new Date();
  byId<HTMLInputElement>('usage-to').value = day(to);
  byId<HTMLInputElement>('usage-from').value = day(new Date(to.getTime() - 29 * 86_400_000));
}

/** Draws the per-model and per-key bar charts from `GET /admin/usage`. */
export async function loadUsage(client: ApiClient): Promise<void> {
  const q = new URLSearchParams();
  const from = byId<HTMLInputElement>('usage-from').value;
  const to = byId<HTMLInputElement>('usage-to').value;
  if (from) q.set('from', from);
  if (to) q.set('to', to);
  const metric = byId<HTMLSelectElement>('usage-metric').value as Metric;
  const [byModel, byKey] = await Promise.all(
    (['model', 'key'] as const).map((g) => client.json<{ data: UsageRow[] }>('GET', `admin/usage?group_by=${g}&${q}`)),
  );
  const bars = (rows: UsageRow[], label: (r: UsageRow) => string): Bar[] =>
    rows.map((r) => ({
      label: label(r),
      value: r[metric],
      detail: `${r.requests} requests, ${r.cached_requests} from the cache`,
    }));
  byId('chart-model').innerHTML = barChartSvg(
    bars(byModel.data, (r) => r.model ?? '?'),
    {
      id: 'usage-model',
      title: `${UNITS[metric]} per model`,
      unit: UNITS[metric],
    },
  );
  byId('chart-key').innerHTML = barChartSvg(
    bars(byKey.data, (r) => r.label ?? r.key_id?.slice(0, 8) ?? '?'),
    {
      id: 'usage-key',
      title: `${UNITS[metric]} per key`,
      unit: UNITS[metric],
    },
  );
}
