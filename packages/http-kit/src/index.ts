export * from './service';
export * from './errors';
export * from './shutdown';
export type { ZodTypeProvider } from 'fastify-type-provider-zod';
export * from './internal-http';
export * from './boot';
export * from './listen';
