import { mapLimit } from '../common/map-limit';

/** A job left untried because its island was found unreachable earlier in the same batch. */
export interface Skipped {
  kind: 'skipped';
  jobId: string;
}

/**
 * Submits a batch with at most `limit` calls in flight. Once a call finds an island unreachable,
 * that island's jobs not yet started are skipped: each would wait out the same timeout, keeping the
 * batch (and one of the worker's batch slots) busy for (jobs ÷ limit) × timeout while the island is down.
 */
export function submitAll<J, R extends { kind: string }>(
  jobs: readonly J[],
  limit: number,
  describe: (job: J) => { jobId: string; island: string },
  submit: (job: J) => Promise<R>,
): Promise<Array<R | Skipped>> {
  const unreachable = new Set<string>();
  return mapLimit(jobs, limit, async (job): Promise<R | Skipped> => {
    const { jobId, island } = describe(job);
    if (unreachable.has(island)) return { kind: 'skipped', jobId };
    const result = await submit(job);
    if (result.kind === 'unavailable') unreachable.add(island);
    return result;
  });
}
