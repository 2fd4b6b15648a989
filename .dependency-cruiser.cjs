/**
 * The package graph, checked by `npm test` (npm run lint:deps). One direction of dependency:
 *   cli → master, worker, report → protocol, solver, datasets → core
 * No service imports another service, no package reaches into another's files, and no cycles.
 */
const pkg = (name) => `^packages/${name}/`;
const only = (from, allowed) => ({
  name: `${from}-imports-only-${allowed.join('-') || 'itself'}`,
  comment: `packages/${from} may import only ${allowed.length ? allowed.join(', ') : 'itself'} among the SODA packages`,
  severity: 'error',
  from: { path: pkg(from) },
  to: {
    path: '^packages/',
    pathNot: [pkg(from), ...allowed.map(pkg)],
  },
});

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'an import cycle makes load order (and so behaviour) depend on who is required first',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    only('core', []),
    only('solver', ['core']),
    only('datasets', ['core']),
    only('protocol', ['core']),
    only('master', ['core', 'protocol']),
    only('worker', ['core', 'protocol']),
    only('report', ['core', 'protocol']),
    {
      name: 'no-reaching-into-packages',
      comment: "import a package by its name (@soda/x), never another package's files by path",
      severity: 'error',
      from: { path: '^packages/([^/]+)/' },
      to: { path: '^packages/([^/]+)/', pathNot: ['^packages/$1/', '^packages/[^/]+/src/index\\.ts$'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(dist|node_modules)/' },
    tsConfig: { fileName: 'tsconfig.jest.json' },
    tsPreCompilationDeps: true,
  },
};
