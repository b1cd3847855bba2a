import type { AccountingRun } from './accounting';

/** Base states in which a run has ended for good (REQUEUED ends a run, but another one follows). */
const FINAL_RUN_STATES = new Set(['COMPLETED', 'CANCELLED', 'FAILED', 'TIMEOUT', 'NODE_FAIL', 'PREEMPTED', 'BOOT_FAIL', 'DEADLINE', 'OUT_OF_MEMORY']);

/**
 * Whether accounting has caught up with a job SLURM's controller already reported ended: null when
 * the runs are complete, else why not. slurmdbd receives records asynchronously (and a slurmctld
 * whose slurmdbd was away sends them later), so "not yet" is normal and the caller retries.
 * Complete = the latest run of every task is final and ended, and an array has a record per task.
 * Steps arrive separately from the job's own record, and a multi-node record was seen COMPLETED
 * with only its first node listed: a run that held nodes but shows no batch step (every job we
 * submit has one) or fewer nodes than its `node` TRES is given STEP_SETTLE_SECONDS after its end
 * to catch up, since the per-node split uses both.
 */
export const STEP_SETTLE_SECONDS = 30;

export function accountingIncomplete(runs: readonly AccountingRun[], arraySize: number | null, nowSeconds: number): string | null {
  if (runs.length === 0) return 'accounting has no record of the job yet';
  const latest = new Map<number, AccountingRun>();
  for (const run of runs) {
    const task = run.arrayTaskId ?? -1;
    const seen = latest.get(task);
    if (!seen || run.submitTime > seen.submitTime || (run.submitTime === seen.submitTime && run.slurmJobId > seen.slurmJobId)) latest.set(task, run);
  }
  if (arraySize !== null && latest.size < arraySize) return `accounting has ${latest.size} of ${arraySize} array tasks`;
  for (const [task, run] of latest) {
    if (!FINAL_RUN_STATES.has(run.state) || run.endTime === null) {
      return `${task >= 0 ? `task ${task}` : 'the job'} is ${run.state || 'unknown'} in accounting`;
    }
  }
  for (const run of runs) {
    const settling = run.endTime !== null && nowSeconds - run.endTime < STEP_SETTLE_SECONDS;
    if (run.nodes.length === 0 || !settling) continue;
    if (!run.steps.some((s) => s.id === 'batch')) return `the batch step of SLURM job ${run.slurmJobId} is not in accounting yet`;
    if (run.nodes.length < run.allocated.nodes) {
      return `accounting lists ${run.nodes.length} of the ${run.allocated.nodes} nodes of SLURM job ${run.slurmJobId} so far`;
    }
  }
  return null;
}
