export * from './proc';
export * from './postgres';
export * from './rabbitmq';
