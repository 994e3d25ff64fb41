import { type AppConfig } from '../config/app-config';
import { MetricsService } from './metrics.service';

const configWith = (metricsPerKey: boolean) => ({ observability: { metricsPerKey } }) as AppConfig;

async function series(m: MetricsService, name: string): Promise<string[]> {
  const text = await m.scrape();
  return text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
}

describe(MetricsService.name, () => {
  it('does count unconfigured models as other and drop gauges of models no longer configured', async () => {
    const m = new MetricsService(configWith(false));
    m.setKnownModels(['a', 'b']);
    m.setModelUp('a', true);
    m.setModelUp('b', true);
    m.setModelUp('zzz', true);
    m.countTokens('zzz', 5, 0);
    expect(await series(m, 'llm_model_up')).toEqual(['llm_model_up{model="a"} 1', 'llm_model_up{model="b"} 1']);
    expect(await series(m, 'llm_tokens_total')).toContain('llm_tokens_total{model="other",kind="prompt"} 5');
    m.setKnownModels(['a']);
    expect(await series(m, 'llm_model_up')).toEqual(['llm_model_up{model="a"} 1']);
    m.countTokens('b', 1, 0);
    expect(await series(m, 'llm_tokens_total')).toContain('llm_tokens_total{model="other",kind="prompt"} 6');
  });

  it('does count write-behind drops from the running totals it reads at scrape time', async () => {
    const m = new MetricsService(configWith(false));
    const totals = { buffer_full: 0, shutdown: 0 };
    m.onScrape(() => {
      for (const [reason, total] of Object.entries(totals)) m.writeBehindDropped('quota ledgers', reason, total);
    });
    expect(await series(m, 'llm_write_behind_dropped_total')).toEqual([
      'llm_write_behind_dropped_total{buffer="quota ledgers",reason="buffer_full"} 0',
      'llm_write_behind_dropped_total{buffer="quota ledgers",reason="shutdown"} 0',
    ]);
    totals.buffer_full = 3;
    await m.scrape();
    totals.buffer_full = 5;
    expect(await series(m, 'llm_write_behind_dropped_total')).toContain(
      'llm_write_behind_dropped_total{buffer="quota ledgers",reason="buffer_full"} 5',
    );
  });

  it('does bound HTTP methods and error codes', async () => {
    const m = new MetricsService(configWith(false));
    m.observeHttp('BREW', '/x', 418, 0.001);
    m.observeHttp('GET', '/x', 200, undefined);
    m.countError('made_up_code');
    m.countError(undefined);
    expect(await series(m, 'llm_http_requests_total')).toEqual([
      'llm_http_requests_total{route="/x",method="OTHER",status="418"} 1',
      'llm_http_requests_total{route="/x",method="GET",status="200"} 1',
    ]);
    // The abandoned request (no duration) is counted but not observed.
    expect(await series(m, 'llm_http_request_duration_seconds_count')).toEqual([
      'llm_http_request_duration_seconds_count{route="/x",method="OTHER"} 1',
    ]);
    expect(await series(m, 'llm_errors_total')).toContain('llm_errors_total{code="other"} 2');
  });

  it('does export key ids only with METRICS_PER_KEY', async () => {
    const off = new MetricsService(configWith(false));
    off.keyRequest('k1');
    expect(await off.scrape()).not.toContain('k1');
    const on = new MetricsService(configWith(true));
    on.keyRequest('k1');
    on.keyRequest('k1');
    expect(await series(on, 'llm_key_requests_total')).toEqual(['llm_key_requests_total{key_id="k1"} 2']);
  });

  it('does run scrape hooks before each scrape, and survives a failing one', async () => {
    const m = new MetricsService(configWith(false));
    m.setKnownModels(['a']);
    let queued = 0;
    m.onScrape(() => {
      throw new Error('sampler down');
    });
    m.onScrape(() => m.queueDepth('a', ++queued));
    expect(await series(m, 'llm_queue_depth')).toEqual(['llm_queue_depth{model="a"} 1']);
    expect(await series(m, 'llm_queue_depth')).toEqual(['llm_queue_depth{model="a"} 2']);
  });

  it('does keep the in-flight series of a model removed by a reload until its requests finish', async () => {
    const m = new MetricsService(configWith(false));
    m.setKnownModels(['a', 'b']);
    m.inflight('a', +1);
    m.inflight('a', +1);
    m.setKnownModels(['b']);
    expect(await series(m, 'llm_inflight_requests')).toContain('llm_inflight_requests{model="a"} 2');
    m.inflight('a', -1);
    m.inflight('a', -1);
    expect((await series(m, 'llm_inflight_requests')).join()).not.toContain('model="a"');
    m.inflight('zzz', +1);
    expect(await series(m, 'llm_inflight_requests')).toContain('llm_inflight_requests{model="other"} 1');
  });

  it('does show request counters summed since the last scrape, once each (they are added at scrape time)', async () => {
    const m = new MetricsService(configWith(false));
    m.setKnownModels(['a']);
    m.countTokens('a', 3, 4);
    m.countTokens('a', 2, 0);
    m.cacheBypass();
    m.cacheLookup('l1', 'hit');
    m.upstreamOutcome('a', 'success');
    m.upstreamOutcome('zzz', 'error');
    m.observeHttp('POST', '/v1/x', 200, 0.01);
    m.inflight('a', +1);
    const first = await m.scrape();
    for (const line of [
      'llm_tokens_total{model="a",kind="prompt"} 5',
      'llm_tokens_total{model="a",kind="completion"} 4',
      'llm_cache_requests_total{tier="none",result="bypass"} 1',
      'llm_cache_requests_total{tier="l1",result="hit"} 1',
      'llm_upstream_requests_total{model="a",outcome="success"} 1',
      'llm_upstream_requests_total{model="other",outcome="error"} 1',
      'llm_http_requests_total{route="/v1/x",method="POST",status="200"} 1',
      'llm_inflight_requests{model="a"} 1',
    ])
      expect(first).toContain(line);
    m.countTokens('a', 1, 0);
    m.inflight('a', -1);
    const second = await m.scrape();
    expect(second).toContain('llm_tokens_total{model="a",kind="prompt"} 6');
    expect(second).toContain('llm_cache_requests_total{tier="none",result="bypass"} 1');
    expect(second).toContain('llm_http_requests_total{route="/v1/x",method="POST",status="200"} 1');
    expect(second).toContain('llm_inflight_requests{model="a"} 0');
  });
});
