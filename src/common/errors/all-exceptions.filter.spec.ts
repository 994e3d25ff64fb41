import { Logger } from '@nestjs/common';
import { QueryFailedError } from 'typeorm';
import { toApiError } from './all-exceptions.filter';

const dbError = (code: string, message: string) =>
  new QueryFailedError(
    'INSERT INTO api_keys (key_hash, label) VALUES ($1, $2)',
    ['hash-secret', 'x'],
    Object.assign(new Error(message), { code, severity: 'ERROR' }),
  );

describe(toApiError.name, () => {
  const logger = new Logger('test');
  afterEach(() => jest.restoreAllMocks());

  it('does turn a data exception from PostgreSQL (SQLSTATE class 22) into 400 invalid_request, logged without parameters', () => {
    const warn = jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
    const error = jest.spyOn(logger, 'error').mockImplementation(() => undefined);
    for (const [code, message] of [
      ['22021', 'invalid byte sequence for encoding "UTF8": 0x00'],
      ['22008', 'date/time field value out of range: "0000-01-01"'],
      ['22003', 'integer out of range'],
    ]) {
      const e = toApiError(dbError(code, message), logger, 'req-1');
      expect(e.status).toBe(400);
      expect(e.code).toBe('invalid_request');
    }
    expect(error).not.toHaveBeenCalled();
    expect(warn).toHaveBeenCalledTimes(3);
    expect(warn.mock.calls.map((c) => String(c[0])).join('\n')).not.toContain('hash-secret');
  });

  it('does keep other database errors a 500', () => {
    jest.spyOn(logger, 'error').mockImplementation(() => undefined);
    expect(toApiError(dbError('42P01', 'relation "nope" does not exist'), logger).status).toBe(500);
    expect(toApiError(new Error('plain'), logger).status).toBe(500);
  });
});
