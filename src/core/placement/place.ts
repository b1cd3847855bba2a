/**
 * The entry points of capacity-aware placement: hard filters, then a score, with an explanation.
 * See README.md in this directory for the filters, the score and its weights, and placer.ts for
 * how the work is split.
 *
 * Cost model. Everything that depends only on (demand, user constraints) and the static island
 * description is computed once per distinct demand "shape" and cached: the candidate islands,
 * the partition, the node classes each alternative of the constraint may use, how many nodes could
 * ever hold the job, and the rejection reason of every other island. What depends on free
 * capacity (fits now, expected start, score) is cached per (shape, island) and keyed on the
 * island's version, so placing a job re-evaluates only islands that changed since the shape was
 * last looked at, not every node of every island.
 */
import type { CapacitySnapshot } from './capacity';
import type { JobDemand } from './job-demand';
import type { PlacementOptions, UserConstraints } from './placement-options';
import type { ArrayPlacement, BatchDecision, BatchJob, BatchResult, JobPlacement } from './placement-result';
import { Placer } from './placer';

/** One job, against a snapshot (left untouched) or a Placer's live view (reserved there). */
export function placeJob(demand: JobDemand, constraints: UserConstraints, view: CapacitySnapshot | Placer, options: PlacementOptions = {}): JobPlacement {
  return placerFor(view, options).place(demand, constraints, options.explain ?? true);
}

/** An array job, split across islands when one cannot run it (or its %N throttle) now. */
export function placeArray(demand: JobDemand, constraints: UserConstraints, view: CapacitySnapshot | Placer, options: PlacementOptions = {}): ArrayPlacement {
  return placerFor(view, options).placeArray(demand, constraints, options.explain ?? true);
}

/** A snapshot gets a private Placer (so it is never modified); a Placer is used as is. */
function placerFor(view: CapacitySnapshot | Placer, options: PlacementOptions): Placer {
  return view instanceof Placer ? view : new Placer(view, options);
}

/**
 * Places jobs in order (queue order = priority order) on one in-memory view of the snapshot
 * (the snapshot itself is not modified), reserving capacity as it goes. No per-candidate
 * explanation unless `options.explain` (500 candidates × 10,000 jobs is a lot of objects).
 */
export function placeMany(jobs: BatchJob[], snapshot: CapacitySnapshot, options: PlacementOptions = {}): BatchResult {
  const placer = new Placer(snapshot, options);
  const explain = options.explain ?? false;
  // One shared object for jobs without constraints, so they share one cached constraint key.
  const noConstraints: UserConstraints = {};
  const stats = { jobs: jobs.length, startNow: 0, queued: 0, unplaceable: 0, arrayParts: 0, shapes: 0 };
  const decisions: BatchDecision[] = jobs.map((job) => {
    const constraints = job.constraints ?? noConstraints;
    const decision: BatchDecision = job.demand.array
      ? { id: job.id, kind: 'array', ...placer.placeArray(job.demand, constraints, explain) }
      : { id: job.id, kind: 'job', ...placer.place(job.demand, constraints, explain) };
    if (decision.status === 'start-now') stats.startNow++;
    else if (decision.status === 'queued') stats.queued++;
    else stats.unplaceable++;
    if (decision.kind === 'array') stats.arrayParts += decision.parts.length;
    return decision;
  });
  stats.shapes = placer.shapeCount();
  return { decisions, stats };
}
