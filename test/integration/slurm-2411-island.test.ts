import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseIslandsFile, type IslandSettings } from '../../src/adapters/config/islands-file';
import { mintSlurmJwt } from '../../src/adapters/slurm/rest/jwt';
import { SshPool } from '../../src/adapters/slurm/ssh/ssh-pool';
import { REPO } from '../support/control-plane';

/**
 * The SLURM 24.11 island `local-c` (scripts/stack/infra-up.sh; on a Debian 12 host it runs from a
 * Debian 13 root) offers what 24.11 adapters need, reached exactly as the control plane reaches an
 * island: its islands-file entry, tokens minted from its key by our own code, its pinned sshd. Jobs run
 * as the host's users and write into the host's home directories. Fails, never skips, when the island
 * is not up.
 */
const STACK = process.env.ARCH_STACK_DIR ?? join(REPO, '.stack');
const ISLAND = process.env.ARCH_TEST_2411_ISLAND ?? 'local-c';
const OWNER = process.env.ARCH_TEST_JOB_USER ?? 'alice';
const API = 'v0.0.42';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe(`SLURM 24.11 island ${ISLAND}`, () => {
  let island: IslandSettings;
  let ssh: SshPool;
  const tag = `archipelago:it-2411-${process.pid}:job=`;

  async function rest(method: string, path: string, user: string, body?: unknown, token?: string) {
    const { url, jwtKey } = island.connection.rest!;
    const res = await fetch(`${url}${path}`, {
      method,
      headers: {
        'X-SLURM-USER-NAME': user,
        'X-SLURM-USER-TOKEN': token ?? mintSlurmJwt(jwtKey, user, 60),
        ...(body ? { 'Content-Type': 'application/json' } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(15_000),
    });
    return { status: res.status, body: (await res.json()) as any };
  }

  async function until<T>(what: string, seconds: number, probe: () => Promise<T | undefined>): Promise<T> {
    const end = Date.now() + seconds * 1000;
    let last: T | undefined;
    while (Date.now() < end) {
      last = await probe();
      if (last !== undefined) return last;
      await sleep(250);
    }
    assert.fail(`${what} within ${seconds} s`);
  }

  async function sshRun(command: string): Promise<string> {
    const env = Object.entries(island.connection.ssh!.commandEnvironment)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    const result = await ssh.exec(OWNER, `${env} ${command}`, { timeoutMs: 20_000 });
    assert.equal(result.code, 0, `${command}: ${result.stderr}`);
    return result.stdout;
  }

  before(() => {
    const islands = parseIslandsFile(join(STACK, 'islands.json'));
    const found = islands.find((i) => i.connection.name === ISLAND);
    assert.ok(found, `${ISLAND} is not in ${join(STACK, 'islands.json')}: start the stack (scripts/stack/infra-up.sh)`);
    island = found;
    const s = island.connection.ssh!;
    ssh = new SshPool({
      host: s.host,
      port: s.port,
      privateKey: s.privateKey,
      hostKeySha256: s.hostKeySha256,
      maxConnectionsPerUser: 1,
      connectTimeoutMs: 10_000,
    });
  });
  after(() => ssh?.close());

  test('its slurmrestd is 24.11, serves v0.0.40-v0.0.42 with /slurmdb/, and takes our tokens', async () => {
    for (const version of ['v0.0.40', 'v0.0.41', 'v0.0.42']) {
      const ping = await rest('GET', `/slurm/${version}/ping/`, island.connection.readUser);
      assert.equal(ping.status, 200, `${version} ping`);
      assert.match(ping.body.meta.slurm.release, /^24\.11\./);
      const db = await rest('GET', `/slurmdb/${version}/jobs/?users=${OWNER}`, island.connection.readUser);
      assert.equal(db.status, 200, `${version} slurmdb jobs: ${JSON.stringify(db.body.errors)}`);
    }
    // 22.05's API is gone: a v0.0.38 client must not mistake this island for one it speaks
    const old = await fetch(`${island.connection.rest!.url}/slurm/v0.0.38/ping/`, {
      headers: {
        'X-SLURM-USER-NAME': island.connection.readUser,
        'X-SLURM-USER-TOKEN': mintSlurmJwt(island.connection.rest!.jwtKey, island.connection.readUser, 60),
      },
    });
    assert.equal(old.status, 404);
    const forged = mintSlurmJwt(Buffer.alloc(32, 7), OWNER, 60);
    assert.equal((await rest('GET', `/slurm/${API}/jobs/`, OWNER, undefined, forged)).status, 511);
  });

  test('a REST job runs as the owner, writes into the host home, and reaches accounting with its tag', async () => {
    const home = `/home/${OWNER}`;
    const name = `it-2411-rest-${process.pid}`;
    const submit = await rest('POST', `/slurm/${API}/job/submit`, OWNER, {
      job: {
        name,
        partition: island.defaultPartition,
        comment: `${tag}${name}`,
        current_working_directory: home,
        standard_output: `${home}/${name}-%j.out`,
        environment: ['PATH=/usr/local/bin:/usr/bin:/bin'],
        script: '#!/bin/bash\necho "$(id -un) on $SLURMD_NODENAME"\n',
      },
    });
    assert.equal(submit.status, 200, JSON.stringify(submit.body.errors));
    const id = submit.body.job_id as number;
    const job = await until(`job ${id} COMPLETED`, 60, async () => {
      const res = await rest('GET', `/slurm/${API}/job/${id}`, island.connection.readUser);
      const j = res.body.jobs?.[0];
      return j?.job_state?.includes('COMPLETED') ? j : undefined;
    });
    assert.equal(job.user_name, OWNER);
    assert.equal(job.exit_code.return_code.number, 0);
    const out = `${home}/${name}-${id}.out`;
    assert.match(readFileSync(out, 'utf8'), new RegExp(`^${OWNER} on ${ISLAND}-n\\d+\\n$`));
    assert.equal(statSync(out).uid, Number(readFileSync('/etc/passwd', 'utf8').match(new RegExp(`^${OWNER}:[^:]*:(\\d+):`, 'm'))![1]));
    const record = await until(`accounting record of ${id}`, 30, async () => {
      const res = await rest('GET', `/slurmdb/${API}/job/${id}`, island.connection.readUser);
      const r = res.body.jobs?.[0];
      return r?.state?.current?.includes('COMPLETED') ? r : undefined;
    });
    assert.equal(record.comment.job, `${tag}${name}`);
    assert.equal(record.user, OWNER);
  });

  test("over its pinned sshd, the owner runs 24.11's sbatch, squeue --json and sacct --json", async () => {
    const name = `it-2411-ssh-${process.pid}`;
    const id = Number((await sshRun(`sbatch --parsable --job-name=${name} --comment=${tag}${name} --output=/dev/null --wrap true`)).trim());
    assert.ok(Number.isInteger(id) && id > 0);
    const queue = JSON.parse(await sshRun(`squeue --json --jobs=${id}`));
    assert.equal(queue.meta.plugin.data_parser, 'data_parser/v0.0.42');
    assert.equal(queue.jobs[0].job_id, id);
    const record = await until(`sacct record of ${id}`, 60, async () => {
      const acct = JSON.parse(await sshRun(`sacct --json --jobs=${id}`));
      const r = acct.jobs.find((j: any) => j.job_id === id);
      return r?.state?.current?.includes('COMPLETED') ? r : undefined;
    });
    assert.equal(record.comment.job, `${tag}${name}`);
  });
});
