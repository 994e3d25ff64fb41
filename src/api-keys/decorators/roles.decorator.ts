import { SetMetadata } from '@nestjs/common';

export type Role = 'admin' | 'user';
export const ROLES = 'llm:roles';
/** Restricts a controller or route to keys with one of these roles. */
export const Roles = (...roles: Role[]) => SetMetadata(ROLES, roles);
