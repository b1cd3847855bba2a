import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { IslandDirectory } from '../../src/adapters/slurm/island-directory';
import type { IslandSettings } from '../../src/adapters/config/islands-file';
import type { JobsRepository } from '../../src/features/jobs/jobs.repository';
import { decidePlacement } from '../../src/core/dispatch/placement-decision';
import type { CapacitySnapshot } from '../../src/core/placement/capacity';
import { CAPACITY_MAX_AGE_MS, CapacityService, islandCapacity } from '../../src/features/jobs/scheduling/capacity.service';
import { Placer } from '../../src/core/placement';
import type { SlurmClient, SlurmNodeRecord } from '../../src/core/slurm/slurm-client.port';

/** The dispatcher's use of capacity-aware placement: the snapshot it builds and the decisions it takes. */

const settings = (name: string, partitions = ['debug', 'short'], defaultPartition = partitions[0]) =>
  ({ connection: { name }, partitions, defaultPartition, workdirRoots: ['/home/{user}'], files: 'local' }) as unknown as IslandSettings;

const node = (name: string, extra: Partial<SlurmNodeRecord> = {}): SlurmNodeRecord => ({
  name,
  state: 'idle',
  stateFlags: [],
  cpus: 4,
  allocCpus: 0,
  idleCpus: 4,
  realMemoryMb: 2000,
  allocMemoryMb: 0,
  features: [],
  activeFeatures: [],
  partitions: ['debug', 'short'],
  gres: '',
  gresUsed: '',
  ...extra,
});

const at = new Date('2026-11-25T12:00:00Z');

function snapshot(...islands: Array<{ name: string; nodes: SlurmNodeRecord[]; partitions?: string[]; pending?: number }>): CapacitySnapshot {
  return {
    takenAtMs: at.getTime(),
    islands: islands.map((i) =>
      islandCapacity(settings(i.name, i.partitions), i.nodes, { pendingJobs: i.pending ?? 0, pendingCpuSeconds: (i.pending ?? 0) * 3600 * 4 }),
    ),
  };
}

describe('islandCapacity', () => {
  test('configured partitions (default first), nodes outside them left out, sorted by name, state and free resources mapped', () => {
    const cap = islandCapacity(
      settings('a', ['batch', 'debug'], 'debug'),
      [
        node('n2', { state: 'mixed', allocCpus: 3, idleCpus: 1, allocMemoryMb: 500 }),
        node('n1', { stateFlags: ['DRAIN'] }),
        node('gpu1', { partitions: ['gpu'] }),
      ],
      { pendingJobs: 2, pendingCpuSeconds: 100 },
    );
    assert.equal(cap.name, 'a');
    assert.deepEqual(
      cap.partitions.map((p) => [p.name, p.isDefault]),
      [
        ['batch', false],
        ['debug', true],
      ],
    );
    assert.deepEqual(
      cap.nodes.map((n) => [n.name, n.state, n.cpusFree, n.memoryFreeMb]),
      [
        ['n1', 'drain', 4, 2000],
        ['n2', 'mixed', 1, 1500],
      ],
    );
    assert.deepEqual(cap.queue, { pendingJobs: 2, pendingCpuSeconds: 100 });
  });
});

describe('decidePlacement', () => {
  test('places on the island where the job starts now, with every island explained', () => {
    const snap = snapshot({ name: 'a', nodes: [node('a1', { state: 'allocated', allocCpus: 4, idleCpus: 0 })] }, { name: 'b', nodes: [node('b1')] });
    const d = decidePlacement(new Placer(snap), { cpusPerTask: 2 }, {}, undefined, [], at);
    assert.equal(d.kind, 'placed');
    if (d.kind !== 'placed') return;
    assert.deepEqual([d.island, d.partition, d.record.status, d.record.decidedAt], ['b', 'debug', 'start-now', at.toISOString()]);
    assert.deepEqual(
      d.record.candidates.map((c) => c.island),
      ['b', 'a'],
    );
    assert.equal(d.record.candidates[1].breakdown?.fitsNow, false);
  });

  test('a requested partition must exist on the island and is what is submitted', () => {
    const snap = snapshot({ name: 'a', nodes: [node('a1')], partitions: ['debug'] }, { name: 'b', nodes: [node('b1')], partitions: ['debug', 'gpu'] });
    const d = decidePlacement(new Placer(snap), { partition: 'gpu' }, {}, undefined, [], at);
    assert.equal(d.kind === 'placed' && `${d.island}/${d.partition}`, 'b/gpu');
    const none = decidePlacement(new Placer(snap), { partition: 'nope' }, {}, undefined, [], at);
    assert.equal(none.kind, 'rejected');
    assert.match(none.kind === 'rejected' ? none.reason : '', /no partition nope/);
  });

  test('a job depending on jobs on an island only goes there, even when it must wait', () => {
    const snap = snapshot({ name: 'a', nodes: [node('a1', { state: 'allocated', allocCpus: 4, idleCpus: 0 })] }, { name: 'b', nodes: [node('b1')] });
    const d = decidePlacement(new Placer(snap), {}, {}, 'a', [], at);
    assert.equal(d.kind === 'placed' && `${d.island}/${d.record.status}`, 'a/queued');
    assert.match(d.kind === 'placed' ? String(d.record.candidates.find((c) => c.island === 'b')?.rejected) : '', /restricted to/);
  });

  test('a job that fits but not now is still placed (SLURM queues it)', () => {
    const busy = node('a1', { state: 'allocated', allocCpus: 4, idleCpus: 0 });
    const d = decidePlacement(new Placer(snapshot({ name: 'a', nodes: [busy] })), { cpusPerTask: 4 }, {}, undefined, [], at);
    assert.equal(d.kind === 'placed' && d.record.status, 'queued');
  });

  test('a job no node can ever hold is rejected with the reason, unless an unreadable island might hold it', () => {
    const snap = snapshot({ name: 'a', nodes: [node('a1')] }, { name: 'b', nodes: [node('b1')] });
    const d = decidePlacement(new Placer(snap), { cpusPerTask: 64 }, {}, undefined, [], at);
    assert.equal(d.kind, 'rejected');
    if (d.kind !== 'rejected') return;
    assert.match(d.reason, /^no island can run it: .*64 CPUs/);
    assert.deepEqual([d.record.island, d.record.status], [null, 'unplaceable']);
    assert.ok(d.record.candidates.every((c) => c.score === null && /CPUs/.test(c.rejected ?? '')));
    assert.equal(decidePlacement(new Placer(snap), { cpusPerTask: 64 }, {}, undefined, ['c'], at).kind, 'retry');
    assert.equal(decidePlacement(new Placer(snap), { cpusPerTask: 64 }, {}, 'a', ['c'], at).kind, 'rejected', 'c is not allowed anyway');
  });

  test('a demand placement cannot read is rejected with its message', () => {
    const d = decidePlacement(new Placer(snapshot({ name: 'a', nodes: [node('a1')] })), { constraint: 'a*2' }, {}, undefined, [], at);
    assert.equal(d.kind, 'rejected');
    assert.match(d.kind === 'rejected' ? d.reason : '', /counts/);
  });

  test('one placer per batch: each job sees what the previous ones took', () => {
    const placer = new Placer(snapshot({ name: 'a', nodes: [node('a1')] }, { name: 'b', nodes: [node('b1')] }));
    const islands = [1, 2, 3]
      .map(() => decidePlacement(placer, { cpusPerTask: 4 }, {}, undefined, [], at))
      .map((d) => d.kind === 'placed' && `${d.island}/${d.record.status}`);
    assert.deepEqual(islands.slice(0, 2).sort(), ['a/start-now', 'b/start-now']);
    assert.match(String(islands[2]), /\/queued$/);
  });
});

describe("decidePlacement: the submitter's constraints and formed islands' profiles", () => {
  const profiled = (name: string, profile: { tier: string; boundMs: number; regions: string[]; providers: string[]; performanceClass: string }) =>
    islandCapacity(settings(name), [node(`${name}1`), node(`${name}2`)], { pendingJobs: 0, pendingCpuSeconds: 0 }, profile);
  const snap = (): CapacitySnapshot => ({
    takenAtMs: at.getTime(),
    islands: [
      profiled('eu', { tier: 'tight', boundMs: 2, regions: ['eu-west'], providers: ['acme'], performanceClass: 'high' }),
      profiled('us', { tier: 'loose', boundMs: 30, regions: ['us-east'], providers: ['zeta'], performanceClass: 'low' }),
    ],
  });

  test('islandCapacity takes tier, bound, regions, providers and class from the profile', () => {
    const [eu] = snap().islands;
    assert.deepEqual([eu.tier, eu.boundMs, eu.regions, eu.providers, eu.performanceClass], ['tight', 2, ['eu-west'], ['acme'], 'high']);
  });

  test('regions, providers, performance classes and island lists are hard filters', () => {
    const placedOn = (constraints: Parameters<typeof decidePlacement>[2]) => {
      const d = decidePlacement(new Placer(snap()), {}, constraints, undefined, [], at);
      return d.kind === 'placed' ? d.island : d.kind;
    };
    assert.equal(placedOn({ regions: ['us-east'] }), 'us');
    assert.equal(placedOn({ providers: ['acme'] }), 'eu');
    assert.equal(placedOn({ performanceClasses: ['low'] }), 'us');
    assert.equal(placedOn({ excludeIslands: ['eu'], regions: ['eu-west', 'us-east'] }), 'us');
    assert.equal(placedOn({ regions: ['ap-south'] }), 'rejected');
  });

  test('a multi-node job needs the tight tier unless it accepts more latency', () => {
    const loose = { islands: ['us'] };
    assert.equal(decidePlacement(new Placer(snap()), { nodes: { min: 2 } }, loose, undefined, [], at).kind, 'rejected');
    const accepted = decidePlacement(new Placer(snap()), { nodes: { min: 2 } }, { ...loose, maxIslandLatencyMs: 30 }, undefined, [], at);
    assert.equal(accepted.kind === 'placed' && accepted.island, 'us');
  });

  test("a dependency pins the island, and the submitter's island list must allow it", () => {
    const pinned = decidePlacement(new Placer(snap()), {}, {}, 'us', [], at);
    assert.equal(pinned.kind === 'placed' && pinned.island, 'us');
    assert.equal(decidePlacement(new Placer(snap()), {}, { islands: ['eu'] }, 'us', [], at).kind, 'rejected');
  });
});

describe('CapacityService', () => {
  function setup() {
    const calls = { nodes: new Map<string, number>(), queue: 0 };
    const failing = new Set<string>();
    const client = (name: string) =>
      ({
        listNodes: async () => {
          calls.nodes.set(name, (calls.nodes.get(name) ?? 0) + 1);
          if (failing.has(name)) throw new Error('unreachable');
          return [node(`${name}1`)];
        },
      }) as unknown as SlurmClient;
    let syncs = 0;
    const islands = {
      all: () => ['a', 'b'].map((name) => ({ settings: settings(name), slurm: client(name) })),
      sync: async () => {
        syncs++;
        return [];
      },
    } as unknown as IslandDirectory;
    const repo = {
      pendingQueues: async () => {
        calls.queue++;
        return new Map([['a', { pendingJobs: 3, pendingCpuSeconds: 600 }]]);
      },
    } as unknown as JobsRepository;
    const service = new CapacityService(islands, repo);
    let now = 1_000_000;
    service.clock = () => now;
    return { service, calls, failing, advance: (ms: number) => (now += ms), syncs: () => syncs };
  }

  test('one node listing per island and one queue query per refresh; shared and reused for up to 2 s', async () => {
    const { service, calls, advance, syncs: setupSyncs } = setup();
    const [v1, v2] = await Promise.all([service.view(), service.view()]);
    assert.equal(v1, v2);
    assert.deepEqual([calls.nodes.get('a'), calls.nodes.get('b'), calls.queue], [1, 1, 1]);
    assert.equal(setupSyncs(), 1, 'the registry is brought up to date before each refresh');
    assert.deepEqual(
      v1.snapshot.islands.map((i) => [i.name, i.nodes.length, i.queue.pendingJobs]),
      [
        ['a', 1, 3],
        ['b', 1, 0],
      ],
    );
    assert.deepEqual(v1.unknown, []);
    advance(CAPACITY_MAX_AGE_MS - 1);
    assert.equal(await service.view(), v1);
    advance(1);
    assert.notEqual(await service.view(), v1);
    assert.deepEqual([calls.nodes.get('a'), calls.queue], [2, 2]);
  });

  test('an unreachable island keeps its last known nodes; one never read is unknown', async () => {
    const { service, failing, advance } = setup();
    await service.view();
    failing.add('a');
    advance(CAPACITY_MAX_AGE_MS);
    const v = await service.view();
    assert.equal(v.snapshot.islands[0].nodes.length, 1);
    assert.deepEqual(v.unknown, []);

    const fresh = setup();
    fresh.failing.add('b');
    const u = await fresh.service.view();
    assert.deepEqual(u.unknown, ['b']);
    assert.equal(u.snapshot.islands[1].nodes.length, 0);
  });
});
