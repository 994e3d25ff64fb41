export { createOnnxProvider, OnnxProvider, type OnnxProviderOptions } from './onnx.provider';
export { ModelLoadError } from './errors';
export type { EngineHooks, EngineStats } from './hooks';
export type { Device, EffectiveDevice, EngineLogger } from './session';
export { SUPPORTED_MODEL_TYPES, type ModelType } from './model-config';
export { VARIANT_SUFFIXES } from './model-folder';
