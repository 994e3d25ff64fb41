import { CreateApiKeys1764316800000 } from './1764316800000-CreateApiKeys';

/** Every migration, in order: TypeORM gets classes, not globs, so the bundle stays explicit. */
export const MIGRATIONS = [CreateApiKeys1764316800000];
