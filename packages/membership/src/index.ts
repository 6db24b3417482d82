export * from './membership.client';
