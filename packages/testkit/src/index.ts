export * from './infra';
export * from './per-file';
export * from './wait';
export * from './fake-accounts';
export * from './service-process';
export * from './tcp-link';
export * from './fixtures';
