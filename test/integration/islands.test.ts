import assert from 'node:assert/strict';
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HeartbeatMessage, signMessage } from '../../src/core/nodes/agent-protocol';
import type { WanModel, WanRoute } from '../../src/apps/devstack/wan-relay';
import { ControlPlane, REPO } from '../support/control-plane';
import { NodeAgent } from '../support/node-agent';

/**
 * Islands end to end on real SLURM: four agents on two emulated sites (the WAN relay adds 40 ms between
 * them), their measured RTTs group them into two tight islands, each launched as its own SLURM cluster
 * (slurmctld + slurmrestd, the agents' machines joined as dynamic nodes); jobs land inside one island;
 * drained and silent nodes stop getting work and leave SLURM on schedule.
 */
const SITES = { west: '127.77.1.', east: '127.77.2.' };
const CROSS_SITE_RTT_MS = 40;
const ADVERTISED_PORT = 48800;
const LISTEN_PORT = 48801;
const PLAN = [
  { label: 'w1', site: 'west', address: '127.77.1.11' },
  { label: 'w2', site: 'west', address: '127.77.1.12' },
  { label: 'e1', site: 'east', address: '127.77.2.11' },
  { label: 'e2', site: 'east', address: '127.77.2.12' },
] as const;

/** The relay runs in its own process, as in the dev stack: the test's event loop must not add latency. */
function startRelay(dir: string, model: WanModel, routes: WanRoute[]): Promise<ChildProcess> {
  const config = join(dir, 'wan-relay.json');
  writeFileSync(config, JSON.stringify({ model, routes }));
  const child = spawn(process.execPath, [join(REPO, 'dist/src/apps/devstack/wan-relay.js'), config], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let output = '';
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('route(s) up')) resolve(child);
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    child.on('exit', (code) => reject(new Error(`wan-relay exited ${code}: ${output}`)));
  });
}

/** Expands a SLURM hostlist (`lab-[1-2]`); scontrol needs some island's configuration to start. */
function hostnames(list: string | null): string[] {
  assert.ok(list, 'the job records the nodes it ran on');
  const env = { ...process.env, SLURM_CONF: '/etc/archipelago/islands/local-a/slurm.conf' };
  return execFileSync('scontrol', ['show', 'hostnames', list], { encoding: 'utf8', env }).trim().split('\n').filter(Boolean);
}

describe('islands: latency groups become SLURM clusters', { timeout: 300_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'archipelago-islands-test-'));
  const secretsKey = join(dir, 'secrets.key');
  writeFileSync(secretsKey, randomBytes(32), { mode: 0o600 });
  const cp = new ControlPlane('islands', {
    // No configured island: every island here is formed from measurements and launched by the control plane.
    islands: [],
    redisDb: 4,
    env: {
      ARCHIPELAGO_ISLAND_LAUNCHER: 'local',
      ARCHIPELAGO_SECRETS_KEY_FILE: secretsKey,
      ARCHIPELAGO_LOCAL_ISLAND_SLOTS: '2-4',
      // Distinct from the dev stack's islands (island-N) on the same machine.
      ARCHIPELAGO_ISLAND_NAME_PREFIX: 'itest',
      ARCHIPELAGO_TOPOLOGY_INTERVAL_MS: '1000',
      // Loopback RTT medians spike to ~8 ms on a loaded 2-core machine; wide tiers keep the test about
      // grouping, not about the machine's load (benchmarks/topology covers the tight production bounds).
      ARCHIPELAGO_TOPOLOGY_TIERS: 'tight:12,loose:200',
      ARCHIPELAGO_NODE_HEARTBEAT_SECONDS: '1',
      ARCHIPELAGO_NODE_STALE_SECONDS: '5',
      ARCHIPELAGO_NODE_OFFLINE_SECONDS: '10',
      ARCHIPELAGO_NODE_DEREGISTER_SECONDS: '600',
      ARCHIPELAGO_NODE_SWEEP_INTERVAL_MS: '500',
      ARCHIPELAGO_API_KEY_CACHE_MS: '0',
    },
  });
  let relay: ChildProcess;
  let provider: { id: string; key: string };
  let alice: { id: string; key: string };
  const agents = new Map<string, { agent: NodeAgent; nodeId: string; name: string; site: string }>();
  let islandOf: Map<string, string>;
  let usedToken: string;

  const nodeName = (label: string) => agents.get(label)!.name;
  const topologyIslands = async () => {
    const listed = await cp.request('GET', '/v1/islands', cp.adminKey);
    assert.equal(listed.status, 200, listed.text);
    return (listed.json.items as any[]).filter((island) => island.origin === 'topology');
  };
  const islandNodes = async (island: string) => {
    const shown = await cp.request('GET', `/v1/islands/${island}`, cp.adminKey);
    assert.equal(shown.status, 200, shown.text);
    return shown.json.nodes as Array<{ name: string; state: string }>;
  };
  const submit = async (script: string, placement?: Record<string, unknown>) => {
    const created = await cp.request('POST', '/v1/jobs', alice.key, { script, ...(placement ? { placement } : {}) });
    assert.equal(created.status, 202, created.text);
    return created.json.id as string;
  };

  before(async () => {
    await cp.start();
    relay = await startRelay(
      dir,
      { sites: SITES, rttMs: { 'west|east': CROSS_SITE_RTT_MS } },
      PLAN.map((p) => ({ listen: { host: p.address, port: ADVERTISED_PORT }, target: { host: p.address, port: LISTEN_PORT }, site: p.site })),
    );
    provider = await cp.provider('lab');
    alice = await cp.researcher('alice-islands', 'alice');
    const token = await cp.request('POST', '/v1/join-tokens', provider.key, { maxUses: PLAN.length });
    assert.equal(token.status, 201, token.text);
    usedToken = token.json.token;
    for (const p of PLAN) {
      const agent = new NodeAgent(dir, p.label, cp.url);
      assert.equal((await agent.keygen()).code, 0);
      // Same region label everywhere: the islands must come from measurements, not from labels.
      const joined = await agent.join(usedToken, [
        '--region',
        'lab',
        '--probe-host',
        p.address,
        '--probe-port',
        String(ADVERTISED_PORT),
        '--listen-host',
        p.address,
        '--listen-port',
        String(LISTEN_PORT),
      ]);
      assert.equal(joined.code, 0, joined.stderr);
      const { nodeId, name } = JSON.parse(joined.stdout.trim().split('\n').pop()!);
      agents.set(p.label, { agent, nodeId, name, site: p.site });
      agent.start(['--interval', '1', '--probes', '5', '--probe-interval', '2']);
    }
  });

  after(async () => {
    for (const { agent } of agents.values()) await agent.stop();
    relay?.kill('SIGTERM');
    // Leaves nothing running: the control plane's islands are retired with their daemons.
    const names = (await topologyIslands().catch(() => [])).map((island: any) => island.name);
    await cp.stop();
    for (const name of names) {
      try {
        execFileSync('bash', ['slurm/local/island-down.sh', name], { stdio: 'ignore' });
      } catch {
        // already down
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('agents measure real RTT differences through the WAN relay', async () => {
    const ids = [...agents.values()].map((a) => a.nodeId).join(',');
    const siteOf = new Map([...agents.values()].map((a) => [a.nodeId, a.site]));
    // Every pair measured, and each pair's latest median on the right side of the site boundary. The first
    // rounds run while four agents and the control plane start on two cores, so they may be noisy: wait
    // for a round that reflects the network rather than the load.
    const reflectsSites = (body: any) =>
      body.samples?.length === 12 &&
      body.samples.every((sample: any) =>
        siteOf.get(sample.from) === siteOf.get(sample.to)
          ? sample.rttMs !== null && sample.rttMs < 12
          : sample.rttMs !== null && sample.rttMs >= CROSS_SITE_RTT_MS * 0.9 && sample.rttMs < CROSS_SITE_RTT_MS * 3,
      );
    const matrix = await cp.waitFor(cp.adminKey, `/v1/latency?nodes=${ids}`, reflectsSites, 60_000, 500);
    const across = matrix.samples.filter((sample: any) => siteOf.get(sample.from) !== siteOf.get(sample.to));
    assert.equal(across.length, 8);
  });

  it('the measured RTTs form two tight islands, each its own running SLURM cluster', async () => {
    const islands = await cp
      .waitFor(
        cp.adminKey,
        '/v1/islands',
        (body) => (body.items as any[]).filter((i) => i.origin === 'topology' && i.reachable && i.capacity?.usableNodes === 2).length === 2,
        120_000,
        1000,
      )
      .then((body) => (body.items as any[]).filter((i) => i.origin === 'topology'));
    const groups = islands.map((island) => [...island.formation.members].sort());
    const expected = [[nodeName('e1'), nodeName('e2')].sort(), [nodeName('w1'), nodeName('w2')].sort()];
    assert.deepEqual(
      groups.sort((a, b) => a[0].localeCompare(b[0])),
      expected.sort((a, b) => a[0].localeCompare(b[0])),
    );
    islandOf = new Map();
    for (const island of islands) {
      assert.equal(island.formation.tier, 'tight');
      assert.equal(island.formation.boundMs, 12);
      assert.ok(island.formation.diameterMs <= 12, `diameter ${island.formation.diameterMs}`);
      assert.equal(island.formation.withinBound, true);
      assert.equal(island.formation.state, 'ACTIVE');
      for (const member of island.formation.members) islandOf.set(member, island.name);
      // The island's own SLURM has exactly its members, as dynamic nodes.
      const inSlurm = (await islandNodes(island.name)).map((n) => n.name).sort();
      assert.deepEqual(inSlurm, [...island.formation.members].sort());
      const conf = `/etc/archipelago/islands/${island.name}/slurm.conf`;
      const sinfo = execFileSync('sinfo', ['-h', '-N', '-o', '%N'], { env: { ...process.env, SLURM_CONF: conf }, encoding: 'utf8' });
      assert.deepEqual([...new Set(sinfo.trim().split('\n'))].sort(), inSlurm);
    }
    assert.notEqual(islandOf.get(nodeName('w1')), islandOf.get(nodeName('e1')));
  });

  it('a 2-node job runs inside one island', async () => {
    const id = await submit('#!/bin/bash\n#SBATCH -N 2\n#SBATCH --ntasks-per-node=1\n#SBATCH -J two-nodes\nsrun hostname\n');
    const job = await cp.waitForJob(alice.key, id, (j) => ['COMPLETED', 'FAILED', 'REJECTED', 'CANCELLED'].includes(j.state), 120_000);
    assert.equal(job.state, 'COMPLETED', JSON.stringify(job));
    const used = hostnames(job.nodes);
    assert.equal(used.length, 2);
    assert.ok(
      used.every((n) => islandOf.get(n) === job.island),
      `${used.join(',')} all in ${job.island}`,
    );
  });

  it("the submitter's placement constraints are hard filters; bad ones are refused at the edge", async () => {
    const west = islandOf.get(nodeName('w1'))!;
    const east = islandOf.get(nodeName('e1'))!;
    const id = await submit('#!/bin/bash\n#SBATCH -N 2\nsrun hostname\n', { excludeIslands: [east], regions: ['lab'] });
    const job = await cp.waitForJob(alice.key, id, (j) => ['COMPLETED', 'FAILED', 'REJECTED', 'CANCELLED'].includes(j.state), 120_000);
    assert.equal(job.state, 'COMPLETED', JSON.stringify(job));
    assert.equal(job.island, west);
    assert.deepEqual(job.placementConstraints, { excludeIslands: [east], regions: ['lab'] });
    // No island is in that region: refused at submit (422) with the placement's explanation.
    const nowhere = await cp.request('POST', '/v1/jobs', alice.key, { script: '#!/bin/bash\nhostname\n', placement: { regions: ['mars'] } });
    assert.equal(nowhere.status, 422, nowhere.text);
    assert.match(nowhere.json.detail, /region/);
    const bad = await cp.request('POST', '/v1/jobs', alice.key, { script: '#!/bin/bash\nhostname\n', placement: { regions: ['eu west; rm -rf /'] } });
    assert.equal(bad.status, 400, bad.text);
    assert.match(bad.json.field, /placement/);
  });

  it('a drained node gets no new work', async () => {
    const w1 = agents.get('w1')!;
    const drained = await cp.request('POST', `/v1/nodes/${w1.nodeId}/drain`, cp.adminKey, { reason: 'maintenance' });
    assert.equal(drained.status, 200, drained.text);
    const west = islandOf.get(w1.name)!;
    const east = islandOf.get(nodeName('e1'))!;
    await cp.waitFor(cp.adminKey, `/v1/islands/${west}`, (body) => body.nodes?.some((n: any) => n.name === w1.name && n.state === 'drain'), 30_000, 500);
    // Placement decides on a capacity snapshot at most 2 s old (scheduling/capacity.service.ts).
    await new Promise((resolve) => setTimeout(resolve, 2500));
    // West has one usable node left, so two-node jobs can only go east; one-node jobs must avoid w1.
    const ids = [
      await submit('#!/bin/bash\n#SBATCH -N 2\nsrun hostname\n'),
      ...(await Promise.all([1, 2, 3, 4].map(() => submit('#!/bin/bash\n#SBATCH -n 1\nhostname\n')))),
    ];
    const jobs = await Promise.all(
      ids.map((id) => cp.waitForJob(alice.key, id, (j) => ['COMPLETED', 'FAILED', 'REJECTED', 'CANCELLED'].includes(j.state), 120_000)),
    );
    for (const job of jobs) {
      assert.equal(job.state, 'COMPLETED', JSON.stringify(job));
      assert.ok(!hostnames(job.nodes).includes(w1.name), `job ${job.id} ran on the drained node`);
    }
    assert.equal(jobs[0].island, east);
    const resumed = await cp.request('POST', `/v1/nodes/${w1.nodeId}/resume`, cp.adminKey);
    assert.equal(resumed.status, 200, resumed.text);
    await cp.waitFor(cp.adminKey, `/v1/islands/${west}`, (body) => body.nodes?.some((n: any) => n.name === w1.name && n.state === 'idle'), 30_000, 500);
  });

  it("an array larger than any one island's free CPUs is split across islands and stays one job", async () => {
    const west = islandOf.get(nodeName('w1'))!;
    const east = islandOf.get(nodeName('e1'))!;
    const free = async (island: string) => (await islandNodes(island)).length;
    assert.equal(await free(west), 2);
    // Each node has the machine's CPUs (2 here, at least 1): more one-CPU tasks than one island holds.
    const perIsland = (await cp.request('GET', `/v1/islands/${west}`, cp.adminKey)).json.capacity.cpus as number;
    const tasks = perIsland + 2;
    const id = await submit(`#!/bin/bash\n#SBATCH --array=0-${tasks - 1}\n#SBATCH -n 1\n#SBATCH -o sweep-%A_%a.out\necho task $SLURM_ARRAY_TASK_ID\nsleep 3\n`);
    const job = await cp.waitForJob(alice.key, id, (j) => ['COMPLETED', 'FAILED', 'REJECTED', 'CANCELLED'].includes(j.state), 180_000);
    assert.equal(job.state, 'COMPLETED', JSON.stringify(job));
    assert.equal(job.array.size, tasks);
    assert.deepEqual(job.array.tasks, { COMPLETED: tasks });
    const parts = job.array.parts as Array<{ id: string; island: string; tasks: string; state: string }>;
    assert.equal(parts.length, 2, JSON.stringify(parts));
    assert.deepEqual(parts.map((p) => p.island).sort(), [east, west].sort());
    assert.ok(parts.every((p) => p.state === 'COMPLETED'));
    const listed = await cp.request('GET', '/v1/jobs?limit=500', alice.key);
    const ids = (listed.json.items as any[]).map((j) => j.id);
    assert.ok(ids.includes(id) && parts.every((p) => !ids.includes(p.id)), 'the parts are not jobs of their own in the list');
    const allTasks = await cp.request('GET', `/v1/jobs/${id}/tasks?limit=1000`, alice.key);
    assert.deepEqual(
      (allTasks.json.items as any[]).map((t) => t.taskId),
      Array.from({ length: tasks }, (_, i) => i),
    );
    for (const task of [0, tasks - 1]) {
      const out = await cp.request('GET', `/v1/jobs/${id}/output?task=${task}`, alice.key);
      assert.equal(out.status, 200, out.text);
      assert.equal(out.text.trim(), `task ${task}`);
      // One %A for the whole array, both parts: Archipelago's array id, as with one sbatch.
      assert.ok(existsSync(`/home/alice/sweep-${id}_${task}.out`), `sweep-${id}_${task}.out`);
    }
    // As sacct lists it: one line per task under the array's one id, each naming the island its part ran on.
    const lines = (await cp.request('GET', `/v1/jobs?array=${id}&limit=500`, alice.key)).json.items as any[];
    assert.deepEqual(
      lines.map((l) => [l.id, l.arrayJobId, l.state]),
      Array.from({ length: tasks }, (_, i) => [`${id}_${i}`, id, 'COMPLETED']),
    );
    for (const part of parts) {
      const [, from, to] = /^(\d+)(?:-(\d+))?/.exec(part.tasks)!;
      const mine = lines.filter((l) => l.arrayTaskId >= Number(from) && l.arrayTaskId <= Number(to ?? from));
      assert.ok(mine.length > 0 && mine.every((l) => l.island === part.island), JSON.stringify({ part, mine }));
    }
    const placement = await cp.request('GET', `/v1/jobs/${id}/placement`, alice.key);
    assert.equal(placement.json.parts.length, 2);
  });

  it('a forged heartbeat and a replayed join token are refused', async () => {
    const w2 = agents.get('w2')!;
    const forger = generateKeyPairSync('ed25519').privateKey;
    const message: HeartbeatMessage = {
      purpose: 'heartbeat',
      nodeId: w2.nodeId,
      seq: 1_000_000,
      sentAt: Date.now(),
      capacity: { cpusFree: 64, memoryFreeMb: 1 << 20, gpusFree: 8 },
      health: 'ok',
      slurmdState: 'idle',
    };
    const forged = await cp.request('POST', '/v1/agent/heartbeat', null, { message, signature: signMessage(message, forger) });
    assert.equal(forged.status, 401, forged.text);
    assert.match(forged.headers.get('content-type') ?? '', /application\/problem\+json/);
    const replay = await cp.request('POST', '/v1/agent/join-challenge', null, { token: usedToken });
    assert.ok(replay.status === 401 || replay.status === 410, `${replay.status} ${replay.text}`);
  });

  it('a node that goes silent is drained, then removed from its island on schedule', async () => {
    const e2 = agents.get('e2')!;
    const east = islandOf.get(e2.name)!;
    const killedAt = Date.now();
    await e2.agent.stop();
    await cp.waitFor(cp.adminKey, `/v1/islands/${east}`, (body) => body.nodes?.some((n: any) => n.name === e2.name && n.state === 'drain'), 30_000, 250);
    const drainedAfter = (Date.now() - killedAt) / 1000;
    assert.ok(drainedAfter >= 4, `drained after ${drainedAfter} s, before the 5 s stale threshold`);
    const node = await cp.waitFor(cp.adminKey, `/v1/nodes/${e2.nodeId}`, (body) => body.state === 'OFFLINE' && body.slurm.island === null, 60_000, 250);
    const removedAfter = (Date.now() - killedAt) / 1000;
    assert.ok(removedAfter >= 9 && removedAfter < 40, `removed after ${removedAfter} s (offline threshold 10 s)`);
    assert.equal(node.slurm.island, null);
    const conf = `/etc/archipelago/islands/${east}/slurm.conf`;
    const shown = execFileSync('bash', ['-c', `scontrol show node ${e2.name} 2>&1 || true`], { env: { ...process.env, SLURM_CONF: conf }, encoding: 'utf8' });
    assert.match(shown, /not found|Invalid node name|Unable to contact|No such/i, shown);
  });

  it('each island launch is in the audit trail, by the formation loop, and the trail verifies', async () => {
    const launched = await cp.request('GET', '/v1/audit?action=island.launch', cp.adminKey);
    assert.equal(launched.status, 200, launched.text);
    const targets = new Set((launched.json.items as Array<{ target: string; actor: string }>).map((entry) => entry.target));
    assert.equal(targets.size, launched.json.items.length, 'one entry per launch, none for re-checks');
    for (const island of await topologyIslands()) if (island.reachable) assert.ok(targets.has(`island:${island.name}`), island.name);
    assert.ok(launched.json.items.every((entry: { actor: string }) => entry.actor === 'system:island-formation'));
    assert.equal((await cp.request('GET', '/v1/audit/verify', cp.adminKey)).json.ok, true);
  });
});
