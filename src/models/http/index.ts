export { HttpLLMClient, type HttpLLMClientOptions } from './http-llm-client';
export { createHttpProviderFactory, type HttpProviderFactoryOptions } from './http-provider.factory';
export {
  CircuitBreaker,
  CircuitOpenError,
  type BreakerSnapshot,
  type BreakerState,
  type CircuitBreakerOptions,
} from './circuit-breaker';
export { UpstreamStreamCutError } from './upstream-errors';
export { estimateTokens, type TokenCounter } from './token-estimate';
export { ResponsesUpstream, type ResponsesItem } from './responses-upstream';
export { embeddingsUpstreamOf, responsesUpstreamOf } from './provider-upstreams';
