import { Logger } from '@nestjs/common';
import { BoundedBuffer } from './bounded-buffer';
import { FlushRegistry } from './flush.registry';
import { MergingBuffer } from './merging-buffer';
import { PartialWriteError, WriteBehind, type WriteBehindOptions } from './write-behind';

// Failed writes and lost items are logged on purpose; the tests assert on counts instead.
Logger.overrideLogger(false);

/** A batch writer that fails the calls listed in `failing` (1-based) and records the others. */
function scriptedWriter(failing: number[] = []) {
  const batches: number[][] = [];
  let calls = 0;
  const write = jest.fn(async (batch: number[]) => {
    calls++;
    if (failing.includes(calls)) throw new Error(`database down (call ${calls})`);
    batches.push([...batch]);
  });
  return { write, batches, written: () => batches.flat() };
}

function fifo(opts: Partial<WriteBehindOptions<number>> & Pick<WriteBehindOptions<number>, 'write'>, max = 100) {
  return new WriteBehind(new BoundedBuffer<number>(max), { what: 'items', intervalMs: 1_000, ...opts });
}

describe(WriteBehind.name, () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('does write as soon as flushAt items are pending, not before', async () => {
    const w = scriptedWriter();
    const wb = fifo({ write: w.write, flushAt: 3, intervalMs: 60_000 });
    wb.add(1);
    wb.add(2);
    await wb.exclusive(async () => undefined); // lets a flush started by add() finish
    expect(w.write).not.toHaveBeenCalled();
    wb.add(3);
    await wb.exclusive(async () => undefined);
    expect(w.batches).toEqual([[1, 2, 3]]);
    expect(wb.pending.size).toBe(0);
  });

  it('does take the batch at once when no flush runs, so the batch in flight is the oldest', async () => {
    let fail!: (err: Error) => void;
    const wb = fifo({ write: () => new Promise((_, reject) => (fail = reject)), flushAt: 2, intervalMs: 60_000 }, 4);
    wb.add(1);
    wb.add(2); // starts a flush: [1, 2] in flight
    for (const i of [3, 4, 5, 6, 7]) wb.add(i); // the buffer holds [4..7]: 3 dropped
    expect([wb.pending.size, wb.dropped.buffer_full]).toEqual([4, 1]);
    fail(new Error('down')); // [1, 2] goes back in front, then the two oldest are trimmed
    await wb.exclusive(async () => undefined);
    expect(wb.dropped.buffer_full).toBe(3);
    expect(wb.pending.take(Infinity)).toEqual([4, 5, 6, 7]);
    wb.stop();
  });

  it('does write what is pending once per interval, in batches of batchSize, and stops with stop()', async () => {
    const w = scriptedWriter();
    const wb = fifo({ write: w.write, intervalMs: 1_000, batchSize: 2 });
    wb.start();
    for (const i of [1, 2, 3]) wb.add(i);
    await jest.advanceTimersByTimeAsync(999);
    expect(w.write).not.toHaveBeenCalled();
    await jest.advanceTimersByTimeAsync(1);
    expect(w.batches).toEqual([[1, 2], [3]]);
    wb.stop();
    wb.add(4);
    await jest.advanceTimersByTimeAsync(5_000);
    expect(w.written()).toEqual([1, 2, 3]);
    expect(wb.pending.size).toBe(1);
  });

  it('does drop the oldest items beyond the bound, counted by reason and reported through onDrop', async () => {
    const w = scriptedWriter();
    const onDrop = jest.fn();
    const wb = fifo({ write: w.write, onDrop }, 3);
    for (let i = 1; i <= 5; i++) wb.add(i);
    expect(wb.dropped).toEqual({ buffer_full: 2, shutdown: 0 });
    expect(onDrop.mock.calls).toEqual([
      ['buffer_full', 1],
      ['buffer_full', 1],
    ]);
    expect(await wb.flush()).toBe(3);
    expect(w.written()).toEqual([3, 4, 5]);
  });

  it('does merge items for the same key, and merge a failed batch back with what came since', async () => {
    const w = { batches: [] as [string, number][][], fail: true };
    const buffer = new MergingBuffer<[string, number]>(
      10,
      ([k]) => k,
      ([k, a], [, b]) => [k, a + b],
    );
    const wb = new WriteBehind<[string, number], MergingBuffer<[string, number]>>(buffer, {
      what: 'sums',
      intervalMs: 1_000,
      write: async (batch) => {
        if (w.fail) throw new Error('down');
        w.batches.push(batch);
      },
    });
    wb.add(['a', 1]);
    wb.add(['b', 2]);
    wb.add(['a', 3]);
    expect(await wb.flush()).toBe(0);
    wb.add(['a', 10]);
    expect(wb.pending.get('a')).toEqual(['a', 14]);
    w.fail = false;
    expect(await wb.flush()).toBe(2);
    expect(w.batches).toEqual([
      [
        ['a', 14],
        ['b', 2],
      ],
    ]);
  });

  it('does keep a failed batch and retry it with exponential backoff until a write succeeds', async () => {
    const w = scriptedWriter([1, 2]);
    const onFailed = jest.fn();
    const wb = fifo({ write: w.write, intervalMs: 60_000, initialBackoffMs: 100, onFailed });
    wb.add(1);
    wb.add(2);
    expect(await wb.flush()).toBe(0);
    expect([wb.failing, wb.pending.size, onFailed.mock.calls.length]).toEqual([true, 2, 1]);
    await jest.advanceTimersByTimeAsync(99);
    expect(w.write).toHaveBeenCalledTimes(1);
    await jest.advanceTimersByTimeAsync(1); // first retry after 100 ms: fails again
    expect(w.write).toHaveBeenCalledTimes(2);
    wb.add(3);
    await jest.advanceTimersByTimeAsync(199);
    expect(w.write).toHaveBeenCalledTimes(2);
    await jest.advanceTimersByTimeAsync(1); // second retry after 200 ms: succeeds
    expect(w.batches).toEqual([[1, 2, 3]]);
    expect([wb.failing, wb.pending.size]).toEqual([false, 0]);
  });

  it('does retry only the unwritten part of a batch after a PartialWriteError', async () => {
    let calls = 0;
    const seen: number[][] = [];
    const wb = fifo({
      write: async (batch) => {
        seen.push([...batch]);
        if (++calls === 1) throw new PartialWriteError(2, batch.slice(2), new Error('connection lost'));
        return batch.length;
      },
    });
    for (const i of [1, 2, 3, 4]) wb.add(i);
    expect(await wb.flush()).toBe(2);
    expect(await wb.flush()).toBe(2);
    expect(seen).toEqual([
      [1, 2, 3, 4],
      [3, 4],
    ]);
  });

  it('does run exclusive work with no flush in progress', async () => {
    const order: string[] = [];
    let release!: () => void;
    const wb = fifo({
      write: async () => {
        order.push('write start');
        await new Promise<void>((r) => (release = r));
        order.push('write end');
      },
    });
    wb.add(1);
    const flushing = wb.flush();
    const exclusive = wb.exclusive(async () => void order.push('exclusive'));
    await Promise.resolve();
    release();
    await Promise.all([flushing, exclusive]);
    expect(order).toEqual(['write start', 'write end', 'exclusive']);
  });

  it('does the shutdown flush once through FlushRegistry, then counts late items as dropped', async () => {
    const w = scriptedWriter();
    const onDrop = jest.fn();
    const wb = fifo({ write: w.write, onDrop });
    const flushes = new FlushRegistry();
    flushes.register('items', () => wb.close());
    wb.start();
    wb.add(1);
    wb.add(2);
    expect(await flushes.flushAll()).toEqual([{ what: 'items', written: 2 }]);
    expect(await wb.close()).toBe(2); // the same, already finished shutdown flush
    wb.add(3);
    await jest.advanceTimersByTimeAsync(10_000); // the interval is stopped too
    expect(w.write).toHaveBeenCalledTimes(1);
    expect(onDrop).toHaveBeenCalledWith('shutdown', 1);
  });

  it('does try once at shutdown without a budget and report what it could not write as lost', async () => {
    const w = scriptedWriter([1]);
    const wb = fifo({ write: w.write });
    wb.add(1);
    wb.add(2);
    expect(await wb.close()).toBe(0);
    expect(w.write).toHaveBeenCalledTimes(1);
    expect(wb.dropped.shutdown).toBe(2);
    await jest.advanceTimersByTimeAsync(10_000); // no retry is scheduled after shutdown
    expect(w.write).toHaveBeenCalledTimes(1);
  });

  it('does retry at shutdown with backoff within shutdownBudgetMs', async () => {
    const w = scriptedWriter([1, 2]);
    const wb = fifo({ write: w.write, initialBackoffMs: 100, shutdownBudgetMs: 1_000 });
    wb.add(1);
    const closing = wb.close();
    await jest.advanceTimersByTimeAsync(300); // fails, waits 100, fails, waits 200, succeeds
    expect(await closing).toBe(1);
    expect(w.write).toHaveBeenCalledTimes(3);
    expect(wb.dropped.shutdown).toBe(0);
  });

  it('does give up at the end of shutdownBudgetMs and drop what is left', async () => {
    const w = scriptedWriter([1, 2, 3, 4, 5, 6]);
    const wb = fifo({ write: w.write, initialBackoffMs: 100, shutdownBudgetMs: 500 });
    wb.add(1);
    wb.add(2);
    const closing = wb.close();
    await jest.advanceTimersByTimeAsync(1_000);
    expect(await closing).toBe(0);
    expect(wb.dropped.shutdown).toBe(2);
    expect(wb.pending.size).toBe(0);
  });
});
