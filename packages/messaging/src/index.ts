export * from './topology';
export * from './broker';
export type { ConsumerSpec } from './consumer';
export * from './metrics';
export * from './publish-batcher';
