export * from './errors';
export * from './limits';
export * from './ids';
export * from './text';
export * from './objects';
export * from './http';
export * from './socket';
export * from './events';
