/*
 * Tests that need a system package (Debian's chromium, liblinear-tools): `npm test` must pass on a
 * machine with only Node and npm, so these live in *.systest.ts files, run by their own npm scripts
 * (test:browser, test:liblinear) that .ci/run calls after installing what they need.
 */
const base = require('./jest.config.js');
module.exports = { ...base, testMatch: ['**/test/**/*.systest.ts'] };
