// The upstream for the HTTP-client bench: an OpenAI-compatible POST /v1/chat/completions on bare
// node:http, in its own process so that its CPU is not counted against the client. JSON answer,
// or (with "stream": true) eight SSE chunks written one by one, as a model emits tokens, then
// `data: [DONE]`. Prints its port.
const http = require('node:http');

const CREATED = 1700000000;
const base = {
  id: 'chatcmpl-bench',
  object: 'chat.completion.chunk',
  created: CREATED,
  model: 'bench',
  system_fingerprint: 'fp_bench',
};
const PIECES = ['Hello', ' from', ' the', ' mock', ' upstream', '.'];
const chunks = [
  { ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }] },
  ...PIECES.map((p) => ({
    ...base,
    choices: [{ index: 0, delta: { content: p }, logprobs: null, finish_reason: null }],
  })),
  {
    ...base,
    choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }],
    usage: { prompt_tokens: 12, completion_tokens: 7, total_tokens: 19 },
  },
].map((c) => `data: ${JSON.stringify(c)}\n\n`);
const json = JSON.stringify({
  id: 'chatcmpl-bench',
  object: 'chat.completion',
  created: CREATED,
  model: 'bench',
  choices: [
    { index: 0, message: { role: 'assistant', content: PIECES.join('') }, logprobs: null, finish_reason: 'stop' },
  ],
  usage: { prompt_tokens: 12, completion_tokens: 7, total_tokens: 19 },
});

const server = http.createServer((req, res) => {
  const bufs = [];
  req.on('data', (b) => bufs.push(b));
  req.on('end', () => {
    if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"not found"}}');
      return;
    }
    let stream;
    try {
      stream = JSON.parse(Buffer.concat(bufs).toString('utf8')).stream === true;
    } catch {
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":{"message":"invalid JSON"}}');
      return;
    }
    if (!stream) {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) }).end(json);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    for (const c of chunks) res.write(c);
    res.end('data: [DONE]\n\n');
  });
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
