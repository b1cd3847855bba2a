import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toBech32 } from '@cosmjs/encoding';
import { ControlPlane, freePort } from '../support/control-plane';
import { NodeAgent } from '../support/node-agent';

/**
 * Tenants cannot reach past their own jobs through the request's edges (security issue #13), each
 * attack tried with real processes against the real islands: local-a (slurmrestd) and local-b (SSH).
 *   - the job environment cannot smuggle sbatch options, SLURM settings or loader variables;
 *   - no system or service account can be a tenant (400 naming the rule), and an account an island
 *     lacks is reported when mapped and ends the job FAILED, not pending or retried forever;
 *   - a job the SSH island can never start (its directory is missing) ends FAILED after one attempt;
 *   - an agent cannot claim another provider's group or send its peers to a third party.
 */
const RUN = randomBytes(3).toString('hex');
const script = (...lines: string[]) => ['#!/bin/bash', ...lines, 'echo hi', ''].join('\n');

describe('tenant policy with real processes (issue #13)', { timeout: 300_000 }, () => {
  const cp = new ControlPlane('tenant_policy', {
    islands: [{ name: 'local-a' }, { name: 'local-b' }],
    redisDb: 7,
    env: { ARCHIPELAGO_TOPOLOGY_INTERVAL_MS: '600000' },
  });
  let alice: { id: string; key: string };

  before(async () => {
    await cp.start();
    alice = await cp.researcher(`alice-${RUN}`, 'alice');
  });
  after(async () => {
    await cp.stop();
  });

  const submit = (key: string, body: Record<string, unknown>) => cp.request('POST', '/v1/jobs', key, body);
  const attempts = async (id: string) => Number((await cp.sql('SELECT dispatch_attempts FROM jobs WHERE id = $1', [id]))[0].dispatch_attempts);

  describe('the environment cannot smuggle what the options may not say', () => {
    for (const [name, value, detail] of [
      ['SLURM_CLUSTERS', 'elsewhere', /--clusters, which is refused/],
      ['SBATCH_CLUSTERS', 'elsewhere', /--clusters, which is refused/],
      ['SBATCH_EXPORT', 'ALL', /--export/],
      ['SBATCH_PARTITION', 'debug', /pass --partition as an option instead/],
      ['SLURM_CONF', '/tmp/evil.conf', /SLURM's own namespace/],
      ['SLURM_JWT', 'stolen', /SLURM's own namespace/],
      ['LD_PRELOAD', '/tmp/evil.so', /loaded/],
      ['LD_LIBRARY_PATH', '/tmp', /loaded/],
      ['GCONV_PATH', '/tmp', /loaded/],
    ] as const) {
      it(`${name} is refused with a problem naming it`, async () => {
        for (const island of ['local-a', 'local-b']) {
          const res = await submit(alice.key, { script: script(), environment: { [name]: value }, placement: { islands: [island] } });
          assert.equal(res.status, 400, res.text);
          assert.match(res.headers.get('content-type') ?? '', /problem\+json/);
          assert.equal(res.json.field, `environment.${name}`);
          assert.match(res.json.detail, detail);
          assert.match(res.json.detail, new RegExp(name));
        }
      });
    }
    it('brought in through --export in the script or the options, it is refused the same way', async () => {
      const inScript = await submit(alice.key, { script: script('#SBATCH --export=ALL,SLURM_CLUSTERS=elsewhere') });
      assert.equal(inScript.status, 400, inScript.text);
      assert.equal(inScript.json.field, 'environment.SLURM_CLUSTERS');
      const inOptions = await submit(alice.key, { script: script(), options: { export: 'NONE,LD_PRELOAD=/tmp/evil.so' } });
      assert.equal(inOptions.status, 400, inOptions.text);
      assert.equal(inOptions.json.field, 'environment.LD_PRELOAD');
    });
    it('ordinary variables still reach the job on both islands', async () => {
      for (const island of ['local-a', 'local-b']) {
        const res = await submit(alice.key, {
          script: script(`#SBATCH --output=/home/alice/h13-env-${RUN}-${island}-%j.out`),
          environment: { GREETING: 'hello', MY_SLURM_NOTE: 'fine' },
          placement: { islands: [island] },
        });
        assert.equal(res.status, 202, res.text);
        const done = await cp.waitForJob(
          alice.key,
          res.json.id,
          (job) => job.state === 'COMPLETED' || job.state === 'FAILED' || job.state === 'REJECTED',
          90_000,
        );
        assert.equal(done.state, 'COMPLETED', JSON.stringify(done));
      }
    });
  });

  describe('no system account can be a tenant', () => {
    const principal = (name: string, slurmUser: string) =>
      cp.request('POST', '/v1/principals', cp.adminKey, { name: `${name}-${RUN}`, kind: 'researcher', slurmUser });
    const wallet = () => toBech32('ve', randomBytes(20));

    it('a service account (munge, slurmrest, archipelago, nobody) is refused with 400 naming the rule', async () => {
      for (const user of ['munge', 'slurmrest', 'archipelago', 'nobody']) {
        const res = await principal(`svc-${user}`, user);
        assert.equal(res.status, 400, res.text);
        assert.equal(res.json.field, 'slurmUser');
        assert.equal(res.json.rule, 'service-account');
        assert.match(res.json.detail, new RegExp(`"${user}" is a service account`));
      }
    });
    it('an account below the minimum uid (games, uid 5) is refused with 400, naming the uid and the island', async () => {
      const res = await principal('games', 'games');
      assert.equal(res.status, 400, res.text);
      assert.equal(res.json.field, 'slurmUser');
      assert.equal(res.json.rule, 'min-uid');
      assert.match(res.json.detail, /uid 5 on island local-[ab], below its minimum uid 1000/);
    });
    it('the same rules apply when a wallet is mapped (it used to be a 500 for root)', async () => {
      for (const [slurmUser, rule] of [
        ['munge', 'service-account'],
        ['games', 'min-uid'],
        ['root', 'service-account'],
      ] as const) {
        const res = await cp.request('PUT', `/v1/wallet-accounts/${wallet()}`, cp.adminKey, { slurmUser });
        assert.equal(res.status, 400, `${slurmUser}: ${res.text}`);
        assert.equal(res.json.field, 'slurmUser');
        assert.equal(res.json.rule, rule);
      }
    });
    it("a tenant's account is mapped with what each island says about it", async () => {
      const res = await principal('bob', 'bob');
      assert.equal(res.status, 201, res.text);
      assert.deepEqual(res.json.slurmUserOnIslands, [
        { island: 'local-a', status: 'ok', uid: 1002 },
        { island: 'local-b', status: 'ok', uid: 1002 },
      ]);
      const mapped = await cp.request('PUT', `/v1/wallet-accounts/${wallet()}`, cp.adminKey, { slurmUser: 'alice' });
      assert.equal(mapped.status, 200, mapped.text);
      assert.deepEqual(
        mapped.json.slurmUserOnIslands.map((r: any) => r.status),
        ['ok', 'ok'],
      );
    });
  });

  describe('jobs that can never be submitted end, they do not retry', () => {
    it('a working directory missing on the SSH island: FAILED with the reason after one attempt', async () => {
      const missing = `/home/alice/h13-missing-${RUN}`;
      const res = await submit(alice.key, { script: script(`#SBATCH --chdir=${missing}`), placement: { islands: ['local-b'] } });
      assert.equal(res.status, 202, res.text);
      const job = await cp.waitForJob(alice.key, res.json.id, (j) => !['ACCEPTED', 'DISPATCHING'].includes(j.state), 60_000);
      assert.equal(job.state, 'FAILED', JSON.stringify(job));
      assert.equal(await attempts(res.json.id), 1);
      const events = await cp.request('GET', `/v1/jobs/${res.json.id}/events`, alice.key);
      const failed = events.json.items.find((e: any) => e.to === 'FAILED');
      assert.match(failed.reason, new RegExp(`working directory ${missing} cannot be entered as alice`));
      assert.doesNotMatch(failed.reason, /command not found/);
    });

    it('an account an island does not have is reported when mapped, and its jobs end FAILED on both islands', async () => {
      const ghost = `ghost${RUN}`;
      const created = await cp.request('POST', '/v1/principals', cp.adminKey, { name: `ghost-${RUN}`, kind: 'researcher', slurmUser: ghost });
      assert.equal(created.status, 201, created.text);
      assert.deepEqual(
        created.json.slurmUserOnIslands.map((r: any) => [r.island, r.status]),
        [
          ['local-a', 'missing'],
          ['local-b', 'missing'],
        ],
      );
      assert.match(created.json.slurmUserOnIslands[0].detail, new RegExp(`"${ghost}" does not exist on island local-a`));
      const key = await cp.request('POST', `/v1/principals/${created.json.id}/api-keys`, cp.adminKey, { scopes: ['submit', 'read'] });
      for (const island of ['local-a', 'local-b']) {
        const res = await submit(key.json.key, { script: script(), placement: { islands: [island] } });
        assert.equal(res.status, 202, res.text);
        const job = await cp.waitForJob(key.json.key, res.json.id, (j) => !['ACCEPTED', 'DISPATCHING'].includes(j.state), 60_000);
        assert.equal(job.state, 'FAILED', JSON.stringify(job));
        assert.equal(job.slurmJobId ?? null, null, 'nothing reached SLURM');
        assert.equal(await attempts(res.json.id), 1);
        const events = await cp.request('GET', `/v1/jobs/${res.json.id}/events`, key.json.key);
        assert.match(events.json.items.at(-1).reason, new RegExp(`"${ghost}" does not exist on island ${island}`));
      }
    });

    it('a principal mapped to a service account before the rule cannot submit at all', async () => {
      const [row] = await cp.sql(`INSERT INTO principals (name, kind, slurm_user) VALUES ($1, 'researcher', 'munge') RETURNING id`, [`legacy-munge-${RUN}`]);
      const key = await cp.request('POST', `/v1/principals/${row.id}/api-keys`, cp.adminKey, { scopes: ['submit', 'read'] });
      const res = await submit(key.json.key, { script: script() });
      assert.equal(res.status, 403, res.text);
      assert.match(res.json.detail, /"munge" is a service account/);
    });
  });

  describe('transient failures are retried with backoff, then end FAILED', () => {
    // An account the island has (uid >= 1000) but whose SSH login the island refuses (no key): the
    // owner's login fails on every try, which says nothing certain about the next one.
    const nokey = `h13nokey${RUN}`;
    const capped = new ControlPlane('tenant_policy_capped', {
      islands: [{ name: 'local-b' }],
      redisDb: 8,
      env: { ARCHIPELAGO_DISPATCH_MAX_ATTEMPTS: '3', ARCHIPELAGO_DISPATCH_RETRY_BASE_MS: '300', ARCHIPELAGO_DISPATCH_RETRY_MAX_MS: '600' },
    });
    before(async () => {
      execFileSync('useradd', ['--no-create-home', '--shell', '/bin/sh', nokey]);
      await capped.start();
    });
    after(async () => {
      await capped.stop();
      execFileSync('userdel', [nokey]);
    });

    it('a login the island keeps refusing: three attempts, then FAILED with the last reason', async () => {
      const owner = await capped.researcher(`nokey-${RUN}`, nokey);
      const res = await capped.request('POST', '/v1/jobs', owner.key, { script: script() });
      assert.equal(res.status, 202, res.text);
      const job = await capped.waitForJob(owner.key, res.json.id, (j) => !['ACCEPTED', 'DISPATCHING'].includes(j.state), 90_000);
      assert.equal(job.state, 'FAILED', JSON.stringify(job));
      assert.match(
        job.stateReason,
        /^gave up after 3 failed submission attempts; last: an island was unreachable; no attempts left \(attempt 3 of 3\): .*authentication as h13nokey/,
      );
      const [row] = await capped.sql('SELECT dispatch_attempts, slurm_job_id FROM jobs WHERE id = $1', [res.json.id]);
      assert.equal(row.slurm_job_id, null);
      assert.equal(row.dispatch_attempts, 4, 'three submissions, and the claim that gave up');
    });
  });

  describe('providers cannot claim what is not theirs', () => {
    let dir: string;
    let provider: { id: string; key: string };
    const providerName = `acme-${RUN}`;
    const token = async (maxUses = 1) => {
      const created = await cp.request('POST', '/v1/join-tokens', provider.key, { maxUses });
      assert.equal(created.status, 201, created.text);
      return created.json.token as string;
    };
    const agent = async (label: string) => {
      const a = new NodeAgent(dir, label, cp.url);
      assert.equal((await a.keygen()).code, 0);
      return a;
    };

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'h13-agents-'));
      provider = await cp.provider(providerName);
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('an agent claiming another provider group is refused (403) and the token use is given back', async () => {
      const jt = await token();
      const claims = await agent('claims');
      const refused = await claims.join(jt, ['--provider-group', 'bigcloud', '--probe-host', '127.0.0.1', '--probe-port', String(await freePort())]);
      assert.equal(refused.code, 2, refused.stderr);
      assert.match(
        refused.stderr,
        /403 Forbidden: message\.tags\.providerGroup: this join token admits nodes of provider group "acme-[0-9a-f]+" only, not "bigcloud"/,
      );
      // The refusal consumed nothing: the same single-use token still admits an honest node.
      const honest = await agent('honest');
      const joined = await honest.join(jt, ['--provider-group', providerName, '--probe-host', '127.0.0.1', '--probe-port', String(await freePort())]);
      assert.equal(joined.code, 0, joined.stderr);
      const { nodeId } = JSON.parse(joined.stdout.trim().split('\n').pop()!);
      const [node] = await cp.sql('SELECT tags FROM nodes WHERE id = $1', [nodeId]);
      assert.equal(node.tags.providerGroup, providerName);
    });

    it("a node that names no group gets its provider's", async () => {
      const quiet = await agent('quiet');
      const joined = await quiet.join(await token(), ['--region', 'lab', '--probe-host', '127.0.0.1', '--probe-port', String(await freePort())]);
      assert.equal(joined.code, 0, joined.stderr);
      const { nodeId } = JSON.parse(joined.stdout.trim().split('\n').pop()!);
      const [node] = await cp.sql('SELECT tags FROM nodes WHERE id = $1', [nodeId]);
      assert.deepEqual(node.tags, { region: 'lab', providerGroup: providerName });
    });

    it('a probe address of a third party (another address, or a host name) is refused (403)', async () => {
      for (const probeHost of ['127.0.0.2', 'localhost']) {
        const third = await agent(`third-${probeHost}`);
        const refused = await third.join(await token(), ['--probe-host', probeHost, '--probe-port', '22']);
        assert.equal(refused.code, 2, refused.stderr);
        assert.match(refused.stderr, /403 Forbidden: message\.probeAddress must be/);
        assert.match(refused.stderr, /this join comes from 127\.0\.0\.1/);
      }
      const [{ n }] = await cp.sql(`SELECT count(*)::int AS n FROM nodes WHERE probe_address LIKE '127.0.0.2:%' OR probe_address LIKE 'localhost:%'`);
      assert.equal(n, 0);
    });

    it('an agent answering probes on one of several addresses joins from that address', async () => {
      const multi = await agent('multi');
      const port = await freePort();
      const joined = await multi.join(await token(), ['--probe-host', '127.0.0.3', '--listen-host', '127.0.0.3', '--probe-port', String(port)]);
      assert.equal(joined.code, 0, joined.stderr);
      const { nodeId } = JSON.parse(joined.stdout.trim().split('\n').pop()!);
      const [node] = await cp.sql('SELECT probe_address FROM nodes WHERE id = $1', [nodeId]);
      assert.equal(node.probe_address, `127.0.0.3:${port}`);
    });
  });
});
