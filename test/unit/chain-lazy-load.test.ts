import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const SERVER = join(__dirname, '..', '..', 'src', 'apps', 'server');

/** The packages a fresh process loaded while requiring `modules` (a child process: this one has its own cache). */
function packagesLoadedBy(modules: string[]): string[] {
  const script = `
    for (const m of ${JSON.stringify(modules)}) require(m);
    const names = new Set(Object.keys(require.cache).map((f) => f.match(/node_modules\\/((@[^/]+\\/)?[^/]+)\\//)?.[1]).filter(Boolean));
    process.stdout.write(JSON.stringify([...names]));`;
  return JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }));
}

describe('cosmjs is loaded only where a chain is configured', () => {
  it('the API and worker module graphs (and the configuration, which reads key files) load no cosmjs client code', () => {
    const loaded = packagesLoadedBy([
      join(SERVER, 'app.module'),
      join(SERVER, 'worker.modules'),
      join(SERVER, 'api.modules'),
      join(SERVER, '..', '..', 'adapters', 'config', 'config'),
    ]);
    assert.ok(loaded.includes('@nestjs/core'), 'the graphs were loaded');
    // ~290 modules and ~0.4 s of boot: chain.module.ts imports the client when CHAIN_RPC_URL is set
    assert.deepEqual(
      loaded.filter((name) => ['@cosmjs/stargate', '@cosmjs/tendermint-rpc', '@cosmjs/proto-signing'].includes(name)),
      [],
    );
  });

  it('the client itself does load them (so the check above can fail)', () => {
    const loaded = packagesLoadedBy([join(SERVER, '..', '..', 'adapters', 'chain', 'chain-client')]);
    assert.ok(loaded.includes('@cosmjs/stargate') && loaded.includes('@cosmjs/tendermint-rpc'));
  });
});
