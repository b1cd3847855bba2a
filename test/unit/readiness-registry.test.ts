import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { ReadinessRegistry } from '../../src/adapters/readiness/readiness-registry';
import { HealthService } from '../../src/features/health/health.service';
import type { DataSource } from 'typeorm';
import type { IslandDirectory } from '../../src/adapters/slurm/island-directory';

describe('readiness registry (the seam for the chain check)', () => {
  it('keeps registered checks and refuses names that would hide another', () => {
    const registry = new ReadinessRegistry();
    const chain = { name: 'chain', probe: async () => undefined };
    registry.register(chain);
    assert.deepEqual(registry.all(), [chain]);
    assert.throws(() => registry.register({ name: 'chain', probe: async () => undefined }), /already exists/);
    assert.throws(() => registry.register({ name: 'postgres', probe: async () => undefined }), /already exists/);
  });

  it('an advisory check is reported (with advisory: true) but does not decide readiness; a failing ordinary one does', async () => {
    const registry = new ReadinessRegistry();
    const failing = async () => {
      throw new Error('store queries refused');
    };
    registry.register({ name: 'chain-job-records', advisory: true, probe: failing });
    const health = new HealthService({ query: async () => [] } as unknown as DataSource, { all: () => [] } as unknown as IslandDirectory, registry);
    const degraded = await health.readiness();
    assert.equal(degraded.ready, true);
    const check = (degraded.checks as unknown as Record<string, { ok: boolean; detail?: string; advisory?: boolean }>)['chain-job-records'];
    assert.deepEqual([check.ok, check.detail, check.advisory], [false, 'store queries refused', true]);
    registry.register({ name: 'chain', probe: failing });
    assert.equal((await health.readiness()).ready, false);
  });
});
