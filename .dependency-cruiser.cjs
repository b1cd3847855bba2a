/**
 * The layers of src/ (docs/architecture.md, "Layers"): core → adapters → features → apps, no
 * cycles, and features meeting only through ports. Checked by scripts/check.sh in `npm test`.
 */
module.exports = {
  forbidden: [
    { name: 'no-cycles', severity: 'error', from: { path: '^src' }, to: { circular: true } },
    {
      name: 'core-is-pure',
      comment: 'core holds pure logic and ports: no other layer, no framework, database, network or SSH client',
      severity: 'error',
      from: { path: '^src/core' },
      to: { path: ['^src/(adapters|features|apps)', 'node_modules/(@nestjs|typeorm|pg|ioredis|bullmq|ssh2|fastify|@kubernetes|@cosmjs/(stargate|tendermint-rpc|proto-signing))/'] },
    },
    { name: 'adapters-below-features', severity: 'error', from: { path: '^src/adapters' }, to: { path: '^src/(features|apps)' } },
    { name: 'features-below-apps', severity: 'error', from: { path: '^src/features' }, to: { path: '^src/apps' } },
    {
      name: 'features-meet-through-ports',
      comment: 'a feature reaches another only through a port declared in core/ or adapters/ (bound in apps/server/wiring.module.ts or by the owning module)',
      severity: 'error',
      from: { path: '^src/features/([^/]+)/' },
      to: { path: '^src/features/', pathNot: '^src/features/$1/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
  },
};
