export * from './errors';
export * from './limits';
export * from './ids';
export * from './objects';
export * from './http';
export * from './socket';
export * from './events';
export * from './internal';
