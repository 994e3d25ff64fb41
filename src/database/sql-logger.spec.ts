import { Logger } from '@nestjs/common';
import { stdSerializers } from 'pino';
import { QueryFailedError } from 'typeorm';
import { SqlLogger, withoutSqlParameters } from './sql-logger';

const SECRET = 'hash-0f9e8d7c6b5a';
const failed = () =>
  new QueryFailedError(
    'INSERT INTO api_keys (key_hash, label) VALUES ($1, $2)',
    [SECRET, 'a\u0000b'],
    Object.assign(new Error('invalid byte sequence for encoding "UTF8": 0x00'), {
      code: '22021',
      detail: `Key (key_hash)=(${SECRET}) already exists.`,
    }),
  );

describe(SqlLogger.name, () => {
  afterEach(() => jest.restoreAllMocks());

  it('does log a failed query with its SQLSTATE and message, never its parameters', () => {
    const error = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const e = failed();
    new SqlLogger().logQueryError(e);
    expect(error).toHaveBeenCalledTimes(1);
    const line = String(error.mock.calls[0][0]);
    expect(line).toContain('22021');
    expect(line).not.toContain(SECRET);
  });
});

describe(withoutSqlParameters.name, () => {
  it('does keep a database error’s code and message and drop its query, parameters and detail', () => {
    const out = JSON.stringify(stdSerializers.err(withoutSqlParameters(failed()) as Error));
    expect(out).not.toContain(SECRET);
    expect(out).not.toContain('INSERT INTO');
    expect(JSON.parse(out)).toMatchObject({ code: '22021', message: expect.stringContaining('0x00') });
  });

  it('does leave other errors as they are', () => {
    const e = new Error('plain');
    expect(withoutSqlParameters(e)).toBe(e);
  });
});
