import type { LlmProvider } from '../provider.interface';
import type { EmbeddingsUpstream } from './embeddings-upstream';
import type { ResponsesUpstream } from './responses-upstream';

/** What a remote model's provider carries besides chat: its other upstream endpoints. */
export interface ProviderUpstreams {
  /** `/responses` pass-through (models.yaml `api: responses`). */
  responses?: ResponsesUpstream;
  /** `/embeddings` (models.yaml `task: embeddings`). */
  embeddings?: EmbeddingsUpstream;
}

const attached = new WeakMap<object, ProviderUpstreams>();

/**
 * Gives a remote model's provider its other endpoints. They share the provider's lifetime: a
 * request leases the provider (so a models.yaml reload drains it first), and closing the
 * provider closes them too. The provider keeps serving chat and completions as before.
 */
export function withUpstreams<P extends LlmProvider>(provider: P, upstreams: ProviderUpstreams): P {
  const parts = Object.values(upstreams).filter((u): u is { close(): Promise<void> } => !!u);
  if (parts.length === 0) return provider;
  const close = provider.close.bind(provider);
  provider.close = async () => {
    await Promise.all([close(), ...parts.map((u) => u.close())]);
  };
  attached.set(provider, upstreams);
  return provider;
}

/** The pass-through of a provider leased for a /v1/responses request, when its model has one. */
export function responsesUpstreamOf(provider: LlmProvider): ResponsesUpstream | undefined {
  return attached.get(provider)?.responses;
}

/** The /embeddings upstream of a provider leased for a /v1/embeddings request, when it has one. */
export function embeddingsUpstreamOf(provider: LlmProvider): EmbeddingsUpstream | undefined {
  return attached.get(provider)?.embeddings;
}
