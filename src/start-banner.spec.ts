import { baseUrl, startBanner } from './start-banner';

describe(startBanner.name, () => {
  const at = (address: string, family = 'IPv4') => ({ address, family, port: 8123 });

  it('does show a loopback URL for a wildcard bind and brackets an IPv6 address', () => {
    expect(baseUrl(at('0.0.0.0'))).toBe('http://127.0.0.1:8123');
    expect(baseUrl(at('::', 'IPv6'))).toBe('http://127.0.0.1:8123');
    expect(baseUrl(at('::1', 'IPv6'))).toBe('http://[::1]:8123');
    expect(baseUrl(at('10.1.2.3'))).toBe('http://10.1.2.3:8123');
  });

  it('does leave out the playground when it is not built, and never prints a key it did not generate', () => {
    const text = startBanner({ address: at('0.0.0.0'), adminKey: { kind: 'existing' }, playground: false });
    expect(text).not.toContain('/ui/');
    expect(text).toMatch(/API docs +http:\/\/127\.0\.0\.1:8123\/docs\n/);
    expect(text).not.toMatch(/sk-[A-Za-z0-9_-]{20,}/);
    expect(text).toContain('Bearer $LLM_API_KEY');
  });
});
