export * from './proc';
export * from './postgres';
export * from './rabbitmq';
export * from './service';
