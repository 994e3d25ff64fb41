import type { GenerateRequest } from '../provider.interface';
import { buildBody, endpointFor, type WireOptions } from './openai-wire';
import { upstreamHeaders } from './upstream-transport';

export interface WireRequest {
  path: string;
  headers: Record<string, string>;
  body: string;
}

/**
 * The HTTP request one GenerateRequest becomes for an OpenAI-compatible upstream: its path, its
 * headers (the upstream's key, our request id) and the JSON body (openai-wire.ts says what is
 * forwarded and what we change). Built once per attempt series: retries resend the same bytes.
 */
export class WireRequests {
  private readonly whole: Record<string, string>;
  private readonly streamed: Record<string, string>;

  constructor(
    private readonly basePath: string,
    private readonly wire: WireOptions & { apiKey?: string },
  ) {
    this.whole = upstreamHeaders(wire.apiKey, false);
    this.streamed = upstreamHeaders(wire.apiKey, true);
  }

  build(req: GenerateRequest, stream: boolean): WireRequest {
    const headers = { ...(stream ? this.streamed : this.whole) };
    if (req.requestId) headers['x-request-id'] = req.requestId;
    return {
      path: this.basePath + endpointFor(req),
      headers,
      body: JSON.stringify(buildBody(req, this.wire, stream)),
    };
  }
}
