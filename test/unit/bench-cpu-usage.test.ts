import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { combinedCpu, cpuMsPer } from '../../benchmarks/submit/proc-stats';

describe('benchmark CPU usage of several phases', () => {
  const before = { wallSeconds: 3, machineBusy: 0.9, coresByGroup: { slurmctld: 0.6, client: 0.4 } };
  const after = { wallSeconds: 1, machineBusy: 0.5, coresByGroup: { slurmctld: 0.2, slurmdbd: 0.1 } };

  it('weights each phase by its length: a long fast phase and a short slow one are not averaged as equals', () => {
    const both = combinedCpu([before, after]);
    assert.equal(both.wallSeconds, 4);
    assert.equal(both.machineBusy, 0.8);
    // slurmctld: (0.6×3 + 0.2×1) / 4; a group seen in one phase only counts as idle in the other
    assert.deepEqual(both.coresByGroup, { slurmctld: 0.5, client: 0.3, slurmdbd: 0.03 });
    assert.deepEqual(Object.keys(both.coresByGroup), ['slurmctld', 'client', 'slurmdbd']);
  });

  it('keeps CPU per job: the phases together cost what each cost', () => {
    const cores = 2;
    const perJob = cpuMsPer(combinedCpu([before, after]), 4000, cores);
    const separately = (cpuMsPer(before, 3000, cores).machine * 3000 + cpuMsPer(after, 1000, cores).machine * 1000) / 4000;
    assert.ok(Math.abs(perJob.machine - separately) < 0.001, `${perJob.machine} against ${separately}`);
    assert.equal(perJob.byGroup.slurmctld, 0.5); // (0.6 × 3 s + 0.2 × 1 s) of a core for 4,000 jobs
  });

  it('of one phase is that phase; of none is idle', () => {
    assert.deepEqual(combinedCpu([before]), before);
    assert.deepEqual(combinedCpu([]), { wallSeconds: 0, machineBusy: 0, coresByGroup: {} });
  });
});
