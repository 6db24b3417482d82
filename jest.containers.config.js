/**
 * The container test alone (`npm run test:containers`, run by .ci/run after `npm test`): it builds the
 * images and runs the compose stack, so it needs no global Postgres or RabbitMQ and takes minutes.
 */
const base = require('./jest.config.js');

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test/containers'],
  testMatch: ['**/*.container.test.ts'],
  transform: base.transform,
  transformIgnorePatterns: base.transformIgnorePatterns,
  testTimeout: 30 * 60_000,
  maxWorkers: 1,
  reporters: base.reporters,
};
