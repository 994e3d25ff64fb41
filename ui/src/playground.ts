import { ApiClient, apiBase } from './api-client';
import { type ChatMessage, type CompletionResult, type Mode, runCompletion } from './completion';
import { byId, clearFailure, h, showFailure, store } from './dom';
import { formatInt, formatMs, tokensPerSecond } from './format';

const KEY_STORAGE = 'llm-server.api-key';

const keyInput = byId<HTMLInputElement>('api-key');
const modelSelect = byId<HTMLSelectElement>('model');
const form = byId<HTMLFormElement>('prompt-form');
const temperature = byId<HTMLInputElement>('temperature');
const temperatureValue = byId<HTMLOutputElement>('temperature-value');
const maxTokens = byId<HTMLInputElement>('max-tokens');
const seed = byId<HTMLInputElement>('seed');
const stream = byId<HTMLInputElement>('stream');
const noCache = byId<HTMLInputElement>('no-cache');
const prompt = byId<HTMLTextAreaElement>('prompt');
const promptLabel = byId<HTMLLabelElement>('prompt-label');
const chatBox = byId<HTMLDivElement>('chat-box');
const system = byId<HTMLTextAreaElement>('system');
const transcript = byId<HTMLOListElement>('transcript');
const sendButton = byId<HTMLButtonElement>('send');
const stopButton = byId<HTMLButtonElement>('stop');
const clearChat = byId<HTMLButtonElement>('clear-chat');
const status = byId<HTMLSpanElement>('status');
const errorBox = byId<HTMLDivElement>('error');
const output = byId<HTMLPreElement>('output');

const client = new ApiClient(apiBase(location.href), () => keyInput.value);
const history: ChatMessage[] = [];
let inFlight: AbortController | undefined;

function mode(): Mode {
  return (form.querySelector<HTMLInputElement>('input[name="mode"]:checked')?.value as Mode) ?? 'prompt';
}

function setStat(id: string, text: string): void {
  byId(id).textContent = text;
}

async function loadModels(): Promise<void> {
  const previous = modelSelect.value;
  modelSelect.replaceChildren(h('option', { value: '' }, 'Loading…'));
  try {
    const list = await client.json<{ data: Array<{ id: string }> }>('GET', 'v1/models');
    const options = list.data.map((m) => h('option', { value: m.id }, m.id));
    modelSelect.replaceChildren(
      ...(options.length ? options : [h('option', { value: '' }, '(no models for this key)')]),
    );
    if (list.data.some((m) => m.id === previous)) modelSelect.value = previous;
    clearFailure(errorBox);
  } catch (err) {
    modelSelect.replaceChildren(h('option', { value: '' }, '(server default)'));
    if (keyInput.value.trim()) showFailure(errorBox, err);
  }
}

function renderTranscript(): void {
  transcript.replaceChildren(
    ...history.map((m) =>
      h(
        'li',
        { class: `msg msg-${m.role}` },
        h('span', { class: 'msg-role' }, m.role),
        h('span', { class: 'msg-text' }, m.content),
      ),
    ),
  );
}

function showResult(r: CompletionResult): void {
  setStat(
    'stat-latency',
    r.serverLatencyMs !== null
      ? `${formatMs(r.latencyMs)} (server ${formatMs(r.serverLatencyMs)})`
      : formatMs(r.latencyMs),
  );
  setStat('stat-ttft', formatMs(r.ttftMs));
  setStat(
    'stat-tokens',
    r.usage
      ? `${formatInt(r.usage.prompt_tokens)} + ${formatInt(r.usage.completion_tokens)} = ${formatInt(r.usage.total_tokens)}`
      : '—',
  );
  setStat('stat-speed', r.usage ? tokensPerSecond(r.usage.completion_tokens, r.latencyMs, r.ttftMs) : '—');
  setStat('stat-cache', r.cache ?? '—');
  setStat('stat-finish', r.finishReason ?? '—');
  setStat('stat-model', r.model ?? '—');
  setStat('stat-ratelimit', r.rateLimit ? `${r.rateLimit.remaining} of ${r.rateLimit.limit}` : '—');
  setStat('stat-request-id', r.requestId ?? '—');
}

function resetStats(): void {
  for (const id of ['latency', 'ttft', 'tokens', 'speed', 'cache', 'finish', 'model', 'ratelimit', 'request-id'])
    setStat(`stat-${id}`, '—');
}

function setBusy(busy: boolean): void {
  sendButton.disabled = busy;
  stopButton.disabled = !busy;
  output.setAttribute('aria-busy', String(busy));
}

async function send(): Promise<void> {
  if (inFlight) return;
  const text = prompt.value;
  if (!text.trim()) {
    prompt.focus();
    return;
  }
  const chat = mode() === 'chat';
  const messages: ChatMessage[] = [];
  if (chat) {
    if (system.value.trim()) messages.push({ role: 'system', content: system.value.trim() });
    messages.push(...history, { role: 'user', content: text });
  }
  clearFailure(errorBox);
  resetStats();
  output.textContent = '';
  status.textContent = stream.checked ? 'Streaming…' : 'Waiting for the answer…';
  inFlight = new AbortController();
  setBusy(true);
  try {
    const result = await runCompletion(
      client,
      {
        mode: chat ? 'chat' : 'prompt',
        prompt: text,
        messages,
        params: {
          model: modelSelect.value || undefined,
          temperature: Number(temperature.value),
          maxTokens: Number(maxTokens.value),
          seed: seed.value === '' ? undefined : Number(seed.value),
          stream: stream.checked,
          noCache: noCache.checked,
        },
      },
      (piece) => output.append(piece),
      { signal: inFlight.signal },
    );
    showResult(result);
    status.textContent = `Done in ${formatMs(result.latencyMs)}`;
    if (chat) {
      history.push({ role: 'user', content: text }, { role: 'assistant', content: result.text });
      renderTranscript();
      prompt.value = '';
    }
  } catch (err) {
    if ((err as Error)?.name === 'AbortError') {
      status.textContent = 'Stopped';
    } else {
      status.textContent = 'Failed';
      showFailure(errorBox, err);
    }
  } finally {
    inFlight = undefined;
    setBusy(false);
  }
}

function applyMode(): void {
  const chat = mode() === 'chat';
  chatBox.hidden = !chat;
  clearChat.hidden = !chat;
  promptLabel.textContent = chat ? 'Your message' : 'Prompt';
}

keyInput.value = store.get(KEY_STORAGE);
keyInput.addEventListener('change', () => {
  store.set(KEY_STORAGE, keyInput.value.trim());
  void loadModels();
});
byId('key-forget').addEventListener('click', () => {
  keyInput.value = '';
  store.set(KEY_STORAGE, '');
  void loadModels();
});
temperature.addEventListener('input', () => (temperatureValue.value = Number(temperature.value).toFixed(1)));
form.addEventListener('change', (e) => {
  if ((e.target as HTMLInputElement).name === 'mode') applyMode();
});
form.addEventListener('submit', (e) => {
  e.preventDefault();
  void send();
});
prompt.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
    e.preventDefault();
    void send();
  }
});
stopButton.addEventListener('click', () => inFlight?.abort());
clearChat.addEventListener('click', () => {
  history.length = 0;
  renderTranscript();
});

temperatureValue.value = Number(temperature.value).toFixed(1);
applyMode();
void loadModels();
