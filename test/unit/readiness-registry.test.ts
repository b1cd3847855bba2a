import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { ReadinessRegistry } from '../../src/adapters/readiness/readiness-registry';

describe('readiness registry (the seam for the chain check)', () => {
  it('keeps registered checks and refuses names that would hide another', () => {
    const registry = new ReadinessRegistry();
    const chain = { name: 'chain', probe: async () => undefined };
    registry.register(chain);
    assert.deepEqual(registry.all(), [chain]);
    assert.throws(() => registry.register({ name: 'chain', probe: async () => undefined }), /already exists/);
    assert.throws(() => registry.register({ name: 'postgres', probe: async () => undefined }), /already exists/);
  });
});
