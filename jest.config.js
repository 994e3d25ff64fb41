// Nest 12 packages are ESM-only: swc transpiles them to CommonJS for jest on Node 20.
const esmPackages = [
  '@nestjs',
  'cookie',
  'content-disposition',
  'file-type',
  'strtok3',
  'token-types',
  '@tokenizer',
  '@borewit',
  'uint8array-extras',
  '@standard-schema',
];
// onnxruntime's telemetry would leave /tmp/mat-debug-<pid>.log behind for every test process
// that opens a session (src/models/onnx/ort-telemetry.ts). Test code sees a copy of the
// environment, which the native library does not read: set it here, for jest and its children.
process.env.ORT_DISABLE_TELEMETRY ??= '1';

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: '<rootDir>/test/setup/node-environment.js',
  roots: ['<rootDir>/src', '<rootDir>/test'],
  // Tiers (docs/testing.md): *.spec.ts need no database, *.int-spec.ts use PostgreSQL/Redis, *.e2e-spec.ts boot the app.
  testMatch: ['**/*.spec.ts', '**/*.int-spec.ts', '**/*.e2e-spec.ts'],
  transform: {
    '^.+\\.(t|j|mj)s$': [
      '@swc/jest',
      {
        jsc: {
          parser: { syntax: 'typescript', decorators: true },
          transform: { legacyDecorator: true, decoratorMetadata: true },
          keepClassNames: true,
          target: 'es2022',
        },
        module: { type: 'commonjs' },
      },
    ],
  },
  transformIgnorePatterns: [`node_modules/(?!(${esmPackages.join('|')})/)`],
  globalSetup: '<rootDir>/test/setup/global-setup.ts',
  globalTeardown: '<rootDir>/test/setup/global-teardown.ts',
  testTimeout: 60000,
};
