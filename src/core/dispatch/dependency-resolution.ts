import type { DependencyClause, DependencySpec } from '../sbatch/job-spec';
import { hasStarted, isTerminal, JobState } from '../jobs/lifecycle';

/** What the dispatcher knows of a job another job depends on. */
export interface DependencyTarget {
  jobId: string;
  state: JobState;
  slurmJobId: number | null;
  island: string | null;
}

export type DependencyResolution =
  /** A target has not reached SLURM yet: try again shortly. */
  | { kind: 'wait'; waitingFor: string[] }
  /** It can never be satisfied (e.g. afterok on a failed job): SLURM would keep it pending forever. */
  | { kind: 'never'; reason: string }
  /** Submit with this dependency (SLURM ids), on this island when one is required. */
  | { kind: 'ready'; dependency?: DependencySpec; island?: string };

type ClauseVerdict = { kind: 'satisfied' } | { kind: 'never'; reason: string } | { kind: 'pending'; clause: DependencyClause };

/** Whether a finished target satisfies a clause kind (SLURM's meaning of each kind). */
function finishedSatisfies(kind: DependencyClause['kind'], state: JobState): boolean {
  switch (kind) {
    case 'afterok':
    case 'aftercorr':
      return state === 'COMPLETED';
    case 'afternotok':
      return state !== 'COMPLETED';
    default:
      return true;
  }
}

function judgeClause(clause: DependencyClause, targets: Map<string, DependencyTarget>, islands: Set<string>): ClauseVerdict | 'wait' {
  if (clause.kind === 'singleton') return { kind: 'pending', clause };
  const remaining: DependencyClause['targets'] = [];
  // Only a clause that stays pending pins the job: one judged `never` part-way must not.
  const clauseIslands: string[] = [];
  for (const wanted of clause.targets) {
    const target = targets.get(wanted.jobId);
    if (!target) return { kind: 'never', reason: `job ${wanted.jobId} does not exist` };
    if (isTerminal(target.state)) {
      if (!finishedSatisfies(clause.kind, target.state)) {
        return { kind: 'never', reason: `${clause.kind} on job ${wanted.jobId}, which ended ${target.state}` };
      }
      continue;
    }
    if (clause.kind === 'after' && !wanted.delayMinutes && hasStarted(target.state)) continue;
    if (target.slurmJobId === null || target.island === null) return 'wait';
    clauseIslands.push(target.island);
    remaining.push({ ...wanted, jobId: String(target.slurmJobId) });
  }
  for (const island of clauseIslands) islands.add(island);
  return remaining.length === 0 ? { kind: 'satisfied' } : { kind: 'pending', clause: { ...clause, targets: remaining } };
}

/**
 * Turns a dependency on Archipelago jobs into one on SLURM ids. Targets that already ended are
 * judged here, because SLURM forgets finished jobs after MinJobAge and would then refuse the
 * dependency; targets still in SLURM pin the job to their island, since SLURM cannot depend
 * across clusters.
 */
export function resolveDependencies(spec: DependencySpec | undefined, known: DependencyTarget[]): DependencyResolution {
  if (!spec) return { kind: 'ready' };
  const targets = new Map(known.map((t) => [t.jobId, t]));
  const verdicts: ClauseVerdict[] = [];
  const waitingFor: string[] = [];
  const islands = new Set<string>();
  for (const clause of spec.clauses) {
    const verdict = judgeClause(clause, targets, islands);
    if (verdict === 'wait') waitingFor.push(...clause.targets.map((t) => t.jobId));
    else verdicts.push(verdict);
  }
  const never = verdicts.filter((v): v is Extract<ClauseVerdict, { kind: 'never' }> => v.kind === 'never');
  if (spec.combine === 'all' && never.length > 0) return { kind: 'never', reason: never[0].reason };
  if (spec.combine === 'any' && verdicts.some((v) => v.kind === 'satisfied')) return { kind: 'ready' };
  if (waitingFor.length > 0) return { kind: 'wait', waitingFor };
  if (spec.combine === 'any' && never.length === verdicts.length) {
    return { kind: 'never', reason: never.map((n) => n.reason).join('; ') };
  }
  const pending = verdicts.flatMap((v) => (v.kind === 'pending' ? [v.clause] : []));
  if (pending.length === 0) return { kind: 'ready' };
  if (islands.size > 1) return { kind: 'never', reason: 'the jobs it depends on run on different islands' };
  const [island] = islands;
  return { kind: 'ready', dependency: { combine: spec.combine, clauses: pending }, island };
}
