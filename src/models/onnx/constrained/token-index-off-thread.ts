import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { buildTokenIndex, indexOf, type TokenIndex, type TokenIndexData, type VocabularyView } from './token-index';

/**
 * The token index built on a worker thread: building it takes 0.25-0.7 s for a 128k-262k
 * vocabulary, which on the event loop would stall every request the server is serving. The
 * main thread only copies the vocabulary in (10-35 ms) and takes the typed arrays back without
 * copying. Where no worker can start, or it fails before answering, it is built here.
 */
export function buildTokenIndexOffThread(view: VocabularyView, modelVocabSize: number): Promise<TokenIndex> {
  const here = () => buildTokenIndex(view, modelVocabSize);
  const tokens = Array.isArray(view.tokens) ? view.tokens : Array.from(view.tokens);
  const workerData = { view: { tokens, added: view.added, byteLevel: view.byteLevel }, modelVocabSize };
  let worker: Worker;
  try {
    worker = startWorker(workerData);
  } catch {
    return Promise.resolve(here());
  }
  return new Promise<TokenIndex>((resolve) => {
    let answered = false;
    worker.once('message', (data: TokenIndexData) => {
      answered = true;
      resolve(indexOf(data));
      void worker.terminate();
    });
    // 'exit' follows 'error' too: one place for both.
    worker.once('error', () => undefined);
    worker.once('exit', () => {
      if (!answered) resolve(here());
    });
  });
}

function startWorker(workerData: object): Worker {
  const compiled = join(__dirname, 'token-index.worker.js');
  if (existsSync(compiled)) return new Worker(compiled, { workerData });
  // Running from TypeScript sources (tests, benchmarks): the worker compiles its module as the
  // parent process does.
  const register = join(__dirname, '../../../../scripts/swc-register.js');
  const source = join(__dirname, 'token-index.worker.ts');
  return new Worker(`require(${JSON.stringify(register)}); require(${JSON.stringify(source)});`, {
    eval: true,
    workerData,
  });
}
