import { ConfigError, loadConfig } from './app-config';

describe(loadConfig.name, () => {
  it('applies the documented defaults', () => {
    const c = loadConfig({}, '/srv');
    expect(c.http).toEqual(expect.objectContaining({ port: 8000, host: '127.0.0.1' }));
    expect(c.database.url).toBeUndefined();
    expect(c.database.dataDir).toBe('/srv/data');
    expect(c.database.embeddedPort).not.toBe(5432);
    expect(c.models.configPath).toBe('/srv/models.yaml');
    expect(c.redisUrl).toBeUndefined();
  });

  it('accepts mps as an alias of coreml', () => {
    expect(loadConfig({ MODEL_DEVICE: 'mps' }).models.device).toBe('coreml');
  });

  it.each([
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['DATABASE_URL', 'mysql://x'],
    ['REDIS_URL', 'http://x'],
    ['MODEL_DEVICE', 'tpu'],
    ['LOG_LEVEL', 'loud'],
    ['BOOTSTRAP_API_KEY', 'short'],
    ['MAX_BODY_BYTES', '-1'],
  ])('stops on a bad %s naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`\\b${name}\\b`));
  });
});
