import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { submitAll } from '../../src/core/dispatch/submit-all';

type Outcome = { kind: 'submitted' | 'unavailable' | 'rejected'; jobId: string };

describe('submitAll: a batch stops trying an island it found unreachable', () => {
  const jobs = (spec: string) => spec.split(' ').map((s, i) => ({ id: `${i}`, island: s }));
  const describeJob = (job: { id: string; island: string }) => ({ jobId: job.id, island: job.island });

  it("skips the unreachable island's jobs not yet started, keeps submitting to the others, in order", async () => {
    const calls: string[] = [];
    const results = await submitAll(jobs('a b a b a a'), 1, describeJob, async (job): Promise<Outcome> => {
      calls.push(`${job.island}${job.id}`);
      return { kind: job.island === 'a' ? 'unavailable' : 'submitted', jobId: job.id };
    });
    assert.deepEqual(calls, ['a0', 'b1', 'b3'], 'one failed call to a, then only b');
    assert.deepEqual(
      results.map((r) => `${r.kind}:${r.jobId}`),
      ['unavailable:0', 'submitted:1', 'skipped:2', 'submitted:3', 'skipped:4', 'skipped:5'],
    );
  });

  it('lets calls already in flight finish; a refused job is not an unreachable island', async () => {
    let inFlight = 0;
    let most = 0;
    const results = await submitAll(jobs('a a a a a'), 3, describeJob, async (job): Promise<Outcome> => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((r) => setTimeout(r, job.id === '1' ? 1 : 20)); // the unreachable answer comes first
      inFlight--;
      return { kind: job.id === '0' ? 'rejected' : job.id === '1' ? 'unavailable' : 'submitted', jobId: job.id };
    });
    assert.equal(most, 3);
    assert.deepEqual(
      results.map((r) => r.kind),
      ['rejected', 'unavailable', 'submitted', 'skipped', 'skipped'],
    );
  });
});
