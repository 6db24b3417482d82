/** One jest run for the whole repository: Postgres and RabbitMQ start once (global set-up). */
const tsJest = ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json' }];

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/packages', '<rootDir>/services', '<rootDir>/web', '<rootDir>/test', '<rootDir>/examples'],
  testMatch: ['**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/.svelte-kit/', '/build/', '/test/containers/'],
  transform: {
    '^.+\\.ts$': tsJest,
    '/node_modules/(content-disposition|cookie|ts-mls|@noble/curves|@noble/hashes|@noble/ciphers)/.+\\.js$':
      '<rootDir>/test/esm-to-cjs.js',
  },
  // ESM-only dependencies, compiled to CJS for jest (see test/esm-to-cjs.js); ts-mls and @noble/* for end-to-end encryption.
  transformIgnorePatterns: [
    '/node_modules/(?!(content-disposition|cookie|ts-mls|@noble/curves|@noble/hashes|@noble/ciphers)/)',
  ],
  globalSetup: '<rootDir>/test/global-setup.ts',
  globalTeardown: '<rootDir>/test/global-teardown.ts',
  testTimeout: 30_000,
  maxWorkers: 2,
  forceExit: false,
  reporters: ['default', '<rootDir>/test/totals-reporter.js'],
};
