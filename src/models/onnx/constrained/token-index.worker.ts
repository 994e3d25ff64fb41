/** Builds a token index off the main thread (token-index-off-thread.ts starts it). */
import { parentPort, workerData } from 'node:worker_threads';
import { buildTokenIndexData, buffersOf, type VocabularyView } from './token-index';

const { view, modelVocabSize } = workerData as { view: VocabularyView; modelVocabSize: number };
const data = buildTokenIndexData(view, modelVocabSize);
parentPort!.postMessage(data, buffersOf(data));
