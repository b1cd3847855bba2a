import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { IslandSettings } from '../../src/adapters/config/islands-file';
import { SubmitAdmission } from '../../src/core/dispatch/submit-admission';
import type { CapacitySnapshot } from '../../src/core/placement/capacity';
import { islandCapacity } from '../../src/features/jobs/scheduling/capacity.service';
import type { SlurmNodeRecord } from '../../src/core/slurm/slurm-client.port';

const at = new Date('2026-12-06T12:00:00Z');
const settings = (name: string) =>
  ({ connection: { name }, partitions: ['debug'], defaultPartition: 'debug', workdirRoots: ['/home/{user}'], files: 'local' }) as unknown as IslandSettings;
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
  partitions: ['debug'],
  gres: '',
  gresUsed: '',
  ...extra,
});
const snapshot = (...islands: Array<[string, SlurmNodeRecord[]]>): CapacitySnapshot => ({
  takenAtMs: at.getTime(),
  islands: islands.map(([name, nodes]) => islandCapacity(settings(name), nodes, { pendingJobs: 0, pendingCpuSeconds: 0 })),
});

describe('SubmitAdmission: impossible jobs refused at submit with the dispatcher’s verdict', () => {
  const two = snapshot(['a', [node('a1')]], ['b', [node('b1', { state: 'allocated', allocCpus: 4, idleCpus: 0 })]]);

  test('a job no node can ever hold: the reason and the placement, every island explained', () => {
    const verdict = new SubmitAdmission(two, [], { formable: false }).neverRunnable({ cpusPerTask: 64 }, {}, at);
    assert.ok(verdict);
    assert.match(verdict.reason, /^no island can run it: .*64 CPUs/);
    assert.deepEqual([verdict.placement.island, verdict.placement.status, verdict.placement.decidedAt], [null, 'unplaceable', at.toISOString()]);
    assert.deepEqual(
      verdict.placement.candidates.map((c) => [c.island, /CPUs/.test(c.rejected ?? '')]),
      [
        ['a', true],
        ['b', true],
      ],
    );
  });

  test('the submitter’s constraints count: a region no island is in', () => {
    const verdict = new SubmitAdmission(two, [], { formable: false }).neverRunnable({}, { regions: ['mars'] }, at);
    assert.match(verdict?.reason ?? '', /region/);
  });

  test('jobs that fit are admitted, also when they must wait, and however many came before', () => {
    const admission = new SubmitAdmission(two, [], { formable: false });
    for (let i = 0; i < 50; i++) assert.equal(admission.neverRunnable({ cpusPerTask: 4 }, {}, at), null, `submission ${i}`);
    assert.equal(admission.neverRunnable({ cpusPerTask: 4, array: { expression: '0-99', taskIds: Array.from({ length: 100 }, (_, i) => i) } }, {}, at), null);
  });

  test('drained and down nodes count, as sbatch queues a job that needs them (they come back)', () => {
    const drained = snapshot(['a', [node('a1'), node('a2', { stateFlags: ['DRAIN'] }), node('a3', { state: 'down' })]]);
    assert.equal(new SubmitAdmission(drained, [], { formable: false }).neverRunnable({ nodes: { min: 3 } }, {}, at), null);
    assert.match(new SubmitAdmission(drained, [], { formable: false }).neverRunnable({ nodes: { min: 4 } }, {}, at)?.reason ?? '', /needs 4 nodes/);
  });

  test('with a launcher, latency tiers refuse nothing (islands re-form); without one they do', () => {
    const loose = {
      takenAtMs: at.getTime(),
      islands: snapshot(['l', [node('l1'), node('l2')]]).islands.map((i) => ({ ...i, tier: 'loose' as const, boundMs: 200 })),
    };
    const spec = { nodes: { min: 2 } };
    assert.match(new SubmitAdmission(loose, [], { formable: false, tightBoundMs: 12 }).neverRunnable(spec, {}, at)?.reason ?? '', /tight tier/);
    assert.equal(new SubmitAdmission(loose, [], { formable: true, tightBoundMs: 12 }).neverRunnable(spec, {}, at), null);
    assert.notEqual(new SubmitAdmission(loose, [], { formable: true }).neverRunnable({ nodes: { min: 3 } }, {}, at), null, 'node counts still do');
  });

  test('admitted while no island is launched, or while an island’s nodes are unknown (decided at dispatch)', () => {
    assert.equal(new SubmitAdmission({ takenAtMs: at.getTime(), islands: [] }, [], { formable: false }).neverRunnable({ cpusPerTask: 64 }, {}, at), null);
    assert.equal(new SubmitAdmission(two, ['c'], { formable: false }).neverRunnable({ cpusPerTask: 64 }, {}, at), null);
  });
});
