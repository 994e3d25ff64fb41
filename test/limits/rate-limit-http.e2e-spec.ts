import { Body, Controller, Global, Module, Post, Res } from '@nestjs/common';
import { APP_FILTER, NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply } from 'fastify';
import { AllExceptionsFilter } from '../../src/common/errors/all-exceptions.filter';
import { AppConfig } from '../../src/config/app-config';
import { ReadinessRegistry } from '../../src/common/lifecycle/readiness.registry';
import { RedisModule } from '../../src/redis/redis.module';
import { RateLimiter } from '../../src/throttling/rate-limiter';
import { ThrottlingModule } from '../../src/throttling/throttling.module';
import { call } from '../helpers/test-app';
import { testConfig, testKey } from './limits-fixtures';

/** Stands in for the inference endpoints until they call the limiter; the lead adds HTTP versions there. */
@Controller('limited')
class LimitedController {
  constructor(private readonly limiter: RateLimiter) {}

  @Post()
  async hit(
    @Body() body: { id: string; rpm: number; tpm: number; tokens: number },
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const key = testKey({ id: body.id, rpm: body.rpm, tpm: body.tpm });
    const { headers } = await this.limiter.checkRequest(key);
    const tokens = await this.limiter.reserveTokens(key, body.tokens);
    reply.headers({ ...headers, ...tokens.headers });
    return { ok: true };
  }
}

@Global()
@Module({
  providers: [{ provide: AppConfig, useValue: testConfig() }, ReadinessRegistry],
  exports: [AppConfig, ReadinessRegistry],
})
class TestRuntimeModule {}

@Module({
  imports: [TestRuntimeModule, RedisModule, ThrottlingModule],
  controllers: [LimitedController],
  providers: [{ provide: APP_FILTER, useClass: AllExceptionsFilter }],
})
class LimitedAppModule {}

describe('rate limits over HTTP', () => {
  let app: NestFastifyApplication;
  let base: string;
  beforeAll(async () => {
    app = await NestFactory.create<NestFastifyApplication>(LimitedAppModule, new FastifyAdapter(), { logger: false });
    await app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
  });
  afterAll(() => app.close());

  it('does send x-ratelimit-* on passes, and a 429 OpenAI error with Retry-After and retry-after-ms past the limit', async () => {
    const body = { id: testKey().id, rpm: 5, tpm: 1000, tokens: 100 };
    for (let i = 0; i < 5; i++) {
      const r = await call(base, 'POST', '/limited', { body });
      expect(r.status).toBe(201);
      expect(r.headers.get('x-ratelimit-remaining-requests')).toBe(String(4 - i));
      expect(r.headers.get('x-ratelimit-remaining-tokens')).toBe(String(900 - 100 * i));
      expect(r.headers.get('x-ratelimit-reset-requests')).toMatch(/^(\d+(\.\d+)?s|\d+m[\d.]+s|\d+ms)$/);
    }
    const r = await call(base, 'POST', '/limited', { body });
    expect(r.status).toBe(429);
    expect(r.body.error).toMatchObject({ code: 'rate_limit_exceeded', type: 'rate_limit_error', param: null });
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(59);
    expect(Number(r.headers.get('retry-after-ms'))).toBeGreaterThan(58_000);
    expect(r.headers.get('x-ratelimit-limit-requests')).toBe('5');
    expect(r.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    expect(r.headers.get('x-ratelimit-limit-tokens')).toBe('1000');
    expect(r.headers.get('x-ratelimit-remaining-tokens')).toBe('500');
  });

  it('does answer 429 with both trios when the token limit is what refuses', async () => {
    const body = { id: testKey().id, rpm: 100, tpm: 150, tokens: 100 };
    expect((await call(base, 'POST', '/limited', { body })).status).toBe(201);
    const r = await call(base, 'POST', '/limited', { body });
    expect(r.status).toBe(429);
    expect(r.body.error.message).toMatch(/150 tokens per minute/);
    expect(r.headers.get('x-ratelimit-remaining-tokens')).toBe('50');
    expect(r.headers.get('x-ratelimit-remaining-requests')).toBe('98');
    expect(r.headers.get('retry-after')).toBeTruthy();
  });
});
