export * from './proc';
export * from './postgres';
export * from './rabbitmq';
export * from './keeper';
export * from './cluster';
export * from './haproxy';
export * from './ra-names';
export * from './service';
