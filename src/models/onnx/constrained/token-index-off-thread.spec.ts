import { readRealTokenizer } from '../../../model-tools/real-tokenizer-model';
import { ModelTokenizer } from '../tokenizer';
import { buildTokenIndex, type TokenIndex } from './token-index';
import { buildTokenIndexOffThread } from './token-index-off-thread';

const shape = (ix: TokenIndex) => ({
  vocabSize: ix.vocabSize,
  singleByteTokens: ix.singleByteTokens,
  all: [Buffer.from(ix.all.byte).toString('hex'), Array.from(ix.all.depth), Array.from(ix.all.firstId)],
  allEnd: Array.from(ix.all.end),
  allMore: [...ix.all.moreIds],
  rest: [Buffer.from(ix.rest.byte).toString('hex'), Array.from(ix.rest.firstId), [...ix.rest.moreIds]],
  plain: ix.plainInString.map((m) => Buffer.from(m).toString('base64')),
});

/** The longest gap between ticks of a 2 ms interval while `work` runs: how long the event loop stalled. */
async function longestStall(work: () => Promise<unknown> | unknown): Promise<number> {
  let last = performance.now();
  let longest = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 2);
  await new Promise((r) => setTimeout(r, 20));
  await work();
  await new Promise((r) => setTimeout(r, 20));
  clearInterval(timer);
  return longest;
}

describe(buildTokenIndexOffThread.name, () => {
  const { tokenizerJson, tokenizerConfig } = readRealTokenizer('qwen3');
  const vocabulary = new ModelTokenizer(tokenizerJson, tokenizerConfig).vocabulary();

  it('builds the same index as on the main thread, every id’s bytes included', async () => {
    const here = buildTokenIndex(vocabulary, 151_936);
    const there = await buildTokenIndexOffThread(vocabulary, 151_936);
    expect(there.vocabSize).toBe(151_936);
    expect(shape(there)).toEqual(shape(here));
    const everyId = (ix: TokenIndex) =>
      Array.from({ length: ix.vocabSize }, (_, id) => {
        const b = ix.bytesOf(id);
        return b ? Buffer.from(b).toString('hex') : '-';
      }).join(' ');
    expect(everyId(there)).toBe(everyId(here));
    expect(Buffer.from(there.bytesOf(9707)!).toString('utf8')).toBe('Hello');
    expect(there.bytesOf(151_643)).toBeUndefined(); // <|endoftext|>: special
    expect(there.bytesOf(151_935)).toBeUndefined(); // padding id of the model's vocabulary
  });

  it('leaves the event loop free while it builds, where building here stalls it', async () => {
    const stallHere = await longestStall(() => buildTokenIndex(vocabulary, 0));
    // The best of three: on a machine busy with other test workers, this thread can also wait
    // for a core (or a collection) while the worker builds; only the stall the build itself
    // causes is the same every time.
    let stallThere = Infinity;
    for (let i = 0; i < 3 && !(stallThere < stallHere / 4); i++)
      stallThere = Math.min(stallThere, await longestStall(() => buildTokenIndexOffThread(vocabulary, 0)));
    expect(stallHere).toBeGreaterThan(100);
    expect(stallThere).toBeLessThan(stallHere / 2);
  });
});
