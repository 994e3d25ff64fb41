import pino from 'pino';
import { PinoNestLogger } from './pino-nest.logger';

function harness(level = 'info') {
  const lines: Record<string, any>[] = [];
  const logger = new PinoNestLogger(pino({ level }, { write: (s: string) => lines.push(JSON.parse(s)) }));
  return { lines, logger };
}

describe(PinoNestLogger.name, () => {
  it('does write Nest calls as JSON lines with their context', () => {
    const { lines, logger } = harness();
    logger.log('cache purged', 'CompletionCache');
    logger.warn({ model: 'tiny' }, 'slow model', 'Router');
    expect(lines).toEqual([
      expect.objectContaining({ level: 30, msg: 'cache purged', context: 'CompletionCache' }),
      expect.objectContaining({ level: 40, msg: 'slow model', context: 'Router', model: 'tiny' }),
    ]);
  });

  it("does demote Nest's start-up lines (modules, routes) to debug", () => {
    const info = harness('info');
    info.logger.log('Mapped {/v1/models, GET} route', 'RouterExplorer');
    info.logger.log('AppModule dependencies initialized', 'InstanceLoader');
    expect(info.lines).toHaveLength(0);
    const debug = harness('debug');
    debug.logger.log('Mapped {/v1/models, GET} route', 'RouterExplorer');
    expect(debug.lines).toEqual([expect.objectContaining({ level: 20, context: 'RouterExplorer' })]);
  });

  it("does keep the stack of Nest's exception handler contract (message, stack, context)", () => {
    const { lines, logger } = harness();
    const err = new Error('boom');
    logger.error(err.message, err.stack, 'ExceptionsHandler');
    logger.error(new Error('direct'), 'Settlement');
    expect(lines[0]).toMatchObject({ level: 50, context: 'ExceptionsHandler', err: { message: 'boom' } });
    expect(lines[0].err.stack).toContain('pino-nest.logger.spec');
    expect(lines[1]).toMatchObject({ level: 50, context: 'Settlement', err: { message: 'direct' } });
  });
});
