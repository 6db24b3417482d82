export * from './topology';
export * from './broker';
export type { ConsumerSpec } from './consumer';
export * from './metrics';
