/**
 * Jest runs the frontend unit tests against a real Jupyter server with the
 * extension (started once in jest.globalSetup.js from the project's venv).
 */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  modulePathIgnorePatterns: ['<rootDir>/.venv', '<rootDir>/jupyter_mlops', '<rootDir>/ui-tests', '<rootDir>/lib'],
  testMatch: ['<rootDir>/src/**/__tests__/**/*.spec.ts?(x)'],
  globalSetup: '<rootDir>/jest.globalSetup.js',
  globalTeardown: '<rootDir>/jest.globalTeardown.js',
  transform: {
    '^.+\\.tsx?$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }]
  },
  testTimeout: 60000,
  reporters: ['default', ['jest-junit', { outputDirectory: 'test-results', outputName: 'jest-junit.xml' }]]
};
