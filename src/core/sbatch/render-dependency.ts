import type { DependencyClause, DependencySpec } from './job-spec';

/**
 * Renders a DependencySpec back to SLURM's `--dependency` syntax, e.g.
 * `afterok:12:13,afterany:14` (all) or `afterok:12?afternotok:13` (any), `after:12+5`, `singleton`.
 *
 * Targets must already hold SLURM job ids (`123`, or `123_4` for one array task): the dispatcher
 * translates Archipelago ids before calling this. Anything else is refused, so a value that was
 * not translated can never reach SLURM (or a shell) unnoticed.
 */
export function renderDependency(spec: DependencySpec): string {
  if (spec.clauses.length === 0) throw new Error('dependency: no clauses');
  const separator = spec.combine === 'any' ? '?' : ',';
  return spec.clauses.map(renderClause).join(separator);
}

const SLURM_JOB_ID = /^[1-9][0-9]{0,9}(_[0-9]{1,10})?$/;

function renderClause(clause: DependencyClause): string {
  if (clause.kind === 'singleton') {
    if (clause.targets.length > 0) throw new Error('dependency: singleton takes no job ids');
    return 'singleton';
  }
  if (clause.targets.length === 0) throw new Error(`dependency: ${clause.kind} needs at least one job id`);
  const targets = clause.targets.map((t) => {
    if (!SLURM_JOB_ID.test(t.jobId)) {
      throw new Error(`dependency: ${JSON.stringify(t.jobId)} is not a SLURM job id (translate it first)`);
    }
    if (t.delayMinutes === undefined) return t.jobId;
    if (clause.kind !== 'after') throw new Error(`dependency: +<minutes> is only valid with "after"`);
    if (!Number.isInteger(t.delayMinutes) || t.delayMinutes < 0) {
      throw new Error(`dependency: delay must be a non-negative integer, got ${t.delayMinutes}`);
    }
    return `${t.jobId}+${t.delayMinutes}`;
  });
  return `${clause.kind}:${targets.join(':')}`;
}
