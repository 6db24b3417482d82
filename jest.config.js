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
    // ESM-only dependencies (content-disposition 3 under @fastify/swagger-ui; ts-mls and @noble/* for
    // end-to-end encryption): jest runs CommonJS (no --experimental-vm-modules), so ts-jest compiles these
    // files to CJS too, as it does the TypeScript (allowJs; isolatedModules makes it a per-file transpile).
    '/node_modules/(content-disposition|cookie|ts-mls|@noble/curves|@noble/hashes|@noble/ciphers)/.+\\.js$': [
      'ts-jest',
      { tsconfig: { allowJs: true } },
    ],
  },
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
