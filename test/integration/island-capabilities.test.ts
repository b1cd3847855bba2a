import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { AppConfig } from '../../src/adapters/config/config';
import { parseIslandsFile, type IslandSettings } from '../../src/adapters/config/islands-file';
import { IslandsRegistry } from '../../src/features/islands/islands.registry';
import { Metrics } from '../../src/adapters/metrics/metrics';
import type { SlurmClient } from '../../src/core/slurm/slurm-client.port';
import { REPO } from '../support/control-plane';

/**
 * What an island can do is declared by its SLURM port, whatever wraps it: islands built by the
 * registry exactly as the server builds them (adapter, tenant checks, metrics), on the 24.11 island
 * local-c (it has slurmdbd). Accounting through a REST island with SSH fallback, with slurmrestd up
 * and with it unreachable; and an SFTP island that opens one SSH pool and closes it at shutdown.
 */
const STACK = process.env.ARCH_STACK_DIR ?? join(REPO, '.stack');
const ISLAND = process.env.ARCH_TEST_2411_ISLAND ?? 'local-c';
const OWNER = process.env.ARCH_TEST_JOB_USER ?? 'alice';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function registryOf(settings: IslandSettings): IslandsRegistry {
  const config = { islands: [settings], jobs: { outputReads: { concurrency: 2, perUser: 1, timeoutMs: 10_000 } } } as unknown as AppConfig;
  return new IslandsRegistry(config, new Metrics());
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** This process's established TCP connections to `port` (from ss, so they are counted by the kernel, not by our code). */
function connectionsTo(port: number): number {
  const out = execFileSync('ss', ['-tnpH', 'state', 'established', `( dport = :${port} )`]).toString();
  return out.split('\n').filter((line) => line.includes(`pid=${process.pid},`)).length;
}

async function completedJob(slurm: SlurmClient, workdir: string, name: string): Promise<number> {
  const { jobId } = await slurm.submit(OWNER, {
    script: '#!/bin/bash\necho accounted\n',
    spec: { jobName: name, timeLimitMinutes: 2, output: '/dev/null' },
    workingDirectory: workdir,
    environment: { PATH: '/usr/bin:/bin' },
    comment: name,
  });
  for (let i = 0; i < 240; i++) {
    const [job] = await slurm.getJob(jobId);
    if (job?.state === 'COMPLETED') return jobId;
    await sleep(250);
  }
  assert.fail(`job ${jobId} did not complete`);
}

describe(`island capabilities (${ISLAND})`, () => {
  let base: IslandSettings;

  before(() => {
    const found = parseIslandsFile(join(STACK, 'islands.json')).find((i) => i.connection.name === ISLAND);
    assert.ok(found?.connection.rest && found.connection.ssh && found.accounting, `${ISLAND} with rest, ssh and accounting is not in ${STACK}/islands.json`);
    base = found;
  });

  test('a REST island with SSH fallback reads accounting, through slurmrestd and, when it is unreachable, through sacct', async () => {
    const fallback: IslandSettings = { ...base, connection: { ...base.connection, adapter: 'rest', fallback: 'ssh' } };
    const registry = registryOf(fallback);
    const unreachable = registryOf({
      ...fallback,
      connection: { ...fallback.connection, rest: { ...fallback.connection.rest!, url: `http://127.0.0.1:${await closedPort()}` } },
    });
    try {
      const name = `it-capabilities-${process.pid}-${Date.now()}`;
      const jobId = await completedJob(registry.get(ISLAND)!.slurm, `/home/${OWNER}`, name);
      for (const [how, island] of [
        ['REST', registry],
        ['SSH fallback', unreachable],
      ] as const) {
        let runs = await island.get(ISLAND)!.slurm.runsOf([jobId]);
        for (let i = 0; i < 60 && !runs.some((r) => r.state === 'COMPLETED'); i++) {
          await sleep(500); // slurmdbd records the end a moment after slurmctld
          runs = await island.get(ISLAND)!.slurm.runsOf([jobId]);
        }
        assert.equal(runs.length, 1, `${how}: ${JSON.stringify(runs)}`);
        assert.deepEqual([runs[0].slurmJobId, runs[0].state, runs[0].comment, runs[0].user], [jobId, 'COMPLETED', name, OWNER], how);
        assert.ok(runs[0].allocated.cpu >= 1 && runs[0].nodes.length === 1, `${how}: ${JSON.stringify(runs[0])}`);
      }
      assert.ok(registry.get(ISLAND)!.slurm.submitSettleMs() > 0, 'a REST submission settles after its token expires');
    } finally {
      await Promise.all([registry.onApplicationShutdown(), unreachable.onApplicationShutdown()]);
    }
  });

  test('an SFTP island reads files and accounts over ONE SSH pool, closed at shutdown', async () => {
    const port = base.connection.ssh!.port;
    for (const adapter of ['ssh', 'rest'] as const) {
      const before = connectionsTo(port);
      const registry = registryOf({ ...base, files: 'sftp', connection: { ...base.connection, adapter, fallback: undefined } });
      const island = registry.get(ISLAND)!;
      assert.deepEqual((await island.tenants.inspect(OWNER)).refusal, null);
      const name = `it-sftp-${adapter}-${process.pid}-${Date.now()}`;
      const jobId = await completedJob(island.slurm, `/home/${OWNER}`, name);
      // The job wrote nothing; its owner's home is still read over SFTP, as that owner.
      assert.equal(await island.files.read(OWNER, `/home/${OWNER}/${name}-absent.out`, { offset: 0, length: 10 }), null);
      assert.ok(jobId > 0);
      const open = connectionsTo(port) - before;
      // The read user (queue, accounts) and the owner (sbatch or nothing, files): one connection each at most.
      assert.ok(open >= 1 && open <= 2, `${adapter}: ${open} connections`);
      await registry.onApplicationShutdown();
      await sleep(200);
      assert.equal(connectionsTo(port) - before, 0, `${adapter}: every SSH connection of the island closed at shutdown`);
    }
  });
});
