/** One jest run covers every package; sources are compiled on the fly so tests never read stale dist/. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/packages', '<rootDir>/test'],
  testMatch: ['**/test/**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.jest.json' }] },
  moduleNameMapper: {
    '^@soda/(core|solver|datasets|protocol|master|worker|report|cli)$': '<rootDir>/packages/$1/src',
  },
  testTimeout: 60000,
};
