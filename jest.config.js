/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    // Type checking is `npm run lint`'s job (tsc over sources and tests); here, transpile only.
    '^.+\\.ts$': ['ts-jest', { diagnostics: false }],
    // ESM-only dependencies, compiled to CommonJS for jest's module system (Node 20 has no
    // require(esm) inside jest); the release build bundles them with esbuild instead.
    '^.+\\.js$': ['ts-jest', { diagnostics: false, tsconfig: { allowJs: true } }],
  },
  transformIgnorePatterns: ['/node_modules/(?!(@middy|jose)/)'],
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  setupFilesAfterEnv: ['<rootDir>/test/support/setup.ts'],
  testTimeout: 60_000,
  // Two cores: CDK synth tests are CPU-bound, more workers only thrash.
  maxWorkers: 2,
};
