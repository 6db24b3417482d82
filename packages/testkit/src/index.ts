export * from './infra';
export * from './per-file';
export * from './wait';
