export {
  ModelsConfigError,
  declaresNoModels,
  loadModelsConfig,
  parseModelsConfig,
  type HttpModelConfig,
  type ModelConfig,
  type ModelsConfig,
  type OnnxModelConfig,
} from './models-config';
export {
  ModelRegistry,
  type ModelInfo,
  type ModelStatus,
  type ProviderFactories,
  type ReloadReport,
  type ResolvedModel,
} from './model-registry';
export type { ModelLease } from './model-entry';
export { ModelRouter, type RoutedResult, type RouterHooks, type UpstreamOutcome } from './model-router';
export { RoutedStream } from './routed-stream';
