import type { LlmProvider } from '../provider.interface';
import type { ResponsesUpstream } from './responses-upstream';

const upstreams = new WeakMap<object, ResponsesUpstream>();

/**
 * Gives a remote model's provider its `/responses` pass-through (models.yaml `api: responses`).
 * The provider keeps serving chat and completions as before; closing it closes both.
 */
export function withResponsesUpstream<P extends LlmProvider>(provider: P, upstream: ResponsesUpstream): P {
  const close = provider.close.bind(provider);
  provider.close = async () => {
    await Promise.all([close(), upstream.close()]);
  };
  upstreams.set(provider, upstream);
  return provider;
}

/** The pass-through of a provider leased for a /v1/responses request, when its model has one. */
export function responsesUpstreamOf(provider: LlmProvider): ResponsesUpstream | undefined {
  return upstreams.get(provider);
}
