import { ApiClient, apiBase } from './api-client';
import { byId, clearFailure, showFailure, store } from './dom';
import { cosine, norm, preview } from './embedding-math';
import { formatInt, formatMs } from './format';

/** The embeddings page: two texts in one request, their cosine similarity, sizes and timing. */
const KEY_STORAGE = 'llm-server.api-key';

const keyInput = byId<HTMLInputElement>('api-key');
const form = byId<HTMLFormElement>('embed-form');
const model = byId<HTMLInputElement>('model');
const dimensions = byId<HTMLInputElement>('dimensions');
const noCache = byId<HTMLInputElement>('no-cache');
const textA = byId<HTMLTextAreaElement>('text-a');
const textB = byId<HTMLTextAreaElement>('text-b');
const sendButton = byId<HTMLButtonElement>('send');
const status = byId<HTMLSpanElement>('status');
const errorBox = byId<HTMLDivElement>('error');

const client = new ApiClient(apiBase(location.href), () => keyInput.value);

interface EmbeddingsAnswer {
  data: Array<{ index: number; embedding: number[] }>;
  usage: { prompt_tokens: number };
}

function setStat(id: string, text: string): void {
  byId(id).textContent = text;
}

async function embed(): Promise<void> {
  clearFailure(errorBox);
  for (const id of [
    'stat-cosine',
    'stat-dimensions',
    'stat-norm',
    'stat-latency',
    'stat-tokens',
    'stat-cache',
    'vector-a',
    'vector-b',
  ])
    setStat(id, '—');
  sendButton.disabled = true;
  status.textContent = 'Embedding…';
  const started = performance.now();
  try {
    const body: Record<string, unknown> = {
      model: model.value.trim(),
      input: [textA.value, textB.value],
      encoding_format: 'float',
    };
    if (dimensions.value) body.dimensions = Number(dimensions.value);
    const res = await client.send('POST', 'v1/embeddings', {
      body,
      headers: noCache.checked ? { 'cache-control': 'no-cache' } : {},
    });
    const answer = (await res.json()) as EmbeddingsAnswer;
    const latency = performance.now() - started;
    const [a, b] = [...answer.data].sort((x, y) => x.index - y.index).map((d) => d.embedding);
    setStat('stat-cosine', cosine(a, b).toFixed(4));
    setStat('stat-dimensions', formatInt(a.length));
    setStat('stat-norm', `${norm(a).toFixed(4)} / ${norm(b).toFixed(4)}`);
    setStat('stat-latency', formatMs(latency));
    setStat('stat-tokens', formatInt(answer.usage.prompt_tokens));
    setStat('stat-cache', res.headers.get('x-cache') ?? '—');
    setStat('vector-a', preview(a));
    setStat('vector-b', preview(b));
    status.textContent = 'Done';
  } catch (err) {
    showFailure(errorBox, err);
    status.textContent = 'Failed';
  } finally {
    sendButton.disabled = false;
  }
}

keyInput.value = store.get(KEY_STORAGE);
keyInput.addEventListener('change', () => store.set(KEY_STORAGE, keyInput.value.trim()));
form.addEventListener('submit', (e) => {
  e.preventDefault();
  void embed();
});
