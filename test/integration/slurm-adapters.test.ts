import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { SshSlurmClient } from '../../src/adapters/slurm/ssh/ssh-slurm-client';
import { SshHostKeyMismatchError } from '../../src/adapters/slurm/ssh/ssh-pool';
import { loadSlurmTestEnv, restIsland, sshIsland } from '../support/slurm-env';
import { slurmContractSuite } from './slurm-contract';

/** The adapter contract against the 22.05 island named by ARCH_TEST_* (see test/support/slurm-env.ts), and what only SSH has. */
slurmContractSuite(() => {
  const env = loadSlurmTestEnv();
  return {
    label: '22.05',
    rest: restIsland(env),
    ssh: sshIsland(env),
    jobUser: env.jobUser,
    workdir: env.workdir,
    nodesJson: async () => execFileSync('sinfo', ['--json'], { env: { ...process.env, SLURM_CONF: env.slurmConf } }).toString(),
  };
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('ssh adapter connection pool', () => {
  test('concurrent commands share at most maxConnectionsPerUser connections; idle ones close', async () => {
    const env = loadSlurmTestEnv();
    const client = new SshSlurmClient(sshIsland(env), { idleTimeoutMs: 300, maxChannelsPerConnection: 4 });
    try {
      const t0 = performance.now();
      const pings = await Promise.all(Array.from({ length: 16 }, () => client.ping()));
      console.log(`[ssh] 16 concurrent pings ${(performance.now() - t0).toFixed(0)} ms`);
      assert.ok(pings.every((p) => p.up));
      const stats = client.connectionStats()[env.readUser];
      assert.ok(stats && stats.connections >= 1 && stats.connections <= 2, JSON.stringify(stats));
      await sleep(700);
      assert.deepEqual(client.connectionStats(), {});
      assert.equal((await client.ping()).up, true); // reconnects
    } finally {
      await client.close();
    }
  });
});

describe('ssh adapter host key pinning', () => {
  test('a wrong pin refuses the connection with a clear error', async () => {
    const env = loadSlurmTestEnv();
    const wrong = 'SHA256:' + 'A'.repeat(43);
    const client = new SshSlurmClient(sshIsland(env, wrong));
    try {
      await assert.rejects(client.getJob(1), (err: unknown) => {
        assert.ok(err instanceof SshHostKeyMismatchError, String(err));
        assert.match(err.message, /host key verification failed: expected SHA256:A+, server presented SHA256:/);
        return true;
      });
      const ping = await client.ping();
      assert.equal(ping.up, false);
    } finally {
      await client.close();
    }
  });
});
