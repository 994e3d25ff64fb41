import { CreateApiKeys1764316800000 } from './1764316800000-CreateApiKeys';
import { CreateUsageTables1764316900000 } from './1764316900000-CreateUsageTables';
import { CreateCompletionCache1764317000000 } from './1764317000000-CreateCompletionCache';
import { CreateInferenceLogs1764317100000 } from './1764317100000-CreateInferenceLogs';
import { AddInferenceLogTokenDetails1764317200000 } from './1764317200000-AddInferenceLogTokenDetails';

/** Every migration, in order: TypeORM gets classes, not globs, so the bundle stays explicit. */
export const MIGRATIONS = [
  CreateApiKeys1764316800000,
  CreateUsageTables1764316900000,
  CreateCompletionCache1764317000000,
  CreateInferenceLogs1764317100000,
  AddInferenceLogTokenDetails1764317200000,
];
