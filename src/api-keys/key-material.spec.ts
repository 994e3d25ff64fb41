import { generateApiKey, hashApiKey, hashApiKeyHex } from './key-material';

describe('hashApiKeyHex', () => {
  it('does give the hex of hashApiKey (the cache and the database agree on a key)', () => {
    const key = generateApiKey();
    expect(hashApiKeyHex(key)).toBe(hashApiKey(key).toString('hex'));
    expect(hashApiKeyHex(key)).not.toBe(hashApiKeyHex(generateApiKey()));
  });
});
