export * from './topology';
export * from './broker';
export type { ConsumerSpec } from './consumer';
export * from './metrics';
export * from './urls';
export * from './migrate-quorum';
export * from './publish-batcher';
export * from './revocations';
