import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC = 'llm:isPublic';
/** Marks a route as reachable without an API key (the key guard is global: deny by default). */
export const Public = () => SetMetadata(IS_PUBLIC, true);
