/**
 * `--dependency` expressions, with the grammar slurmctld 22.05 accepts:
 *
 *   type:id[:id...][,type:id...]   every clause must hold
 *   type:id[:id...][?type:id...]   any clause is enough
 *   singleton
 *   id[,id...]                     the old form, meaning afterany
 *
 * where type is after, afterany, afterok, afternotok, aftercorr or afterburstbuffer (any case),
 * an id is a job id (digits, not 0) optionally naming an array task (`12_3`, `12_*`), and
 * `after:id+N` delays the start by N minutes.
 *
 * Deliberate differences from slurmctld: mixing `,` and `?` is refused (SLURM documents it as
 * unsupported but its parser silently turns the whole list into "any"), `+N` is accepted on
 * `after` only (the one type for which the documentation defines it), and `expand:` (job
 * expansion, normally disabled) is refused.
 */

import type { DependencyClause, DependencyKind, DependencySpec, DependencyTarget } from './job-spec';
import { InvalidValue, show } from './sbatch-error';

const KINDS: ReadonlySet<string> = new Set(['after', 'afterany', 'afterok', 'afternotok', 'aftercorr', 'afterburstbuffer']);

const JOB_ID = /^([1-9]\d{0,9})(_(?:\d{1,7}|\*))?$/;
const MAX_CLAUSES = 1000;

function parseTarget(text: string, kind: DependencyKind, whole: string): DependencyTarget {
  let idText = text;
  let delayMinutes: number | undefined;
  const plus = text.indexOf('+');
  if (plus !== -1) {
    if (kind !== 'after') {
      throw new InvalidValue(`a +minutes delay is only allowed with "after", not in ${show(whole)}`);
    }
    const delay = text.slice(plus + 1);
    idText = text.slice(0, plus);
    if (!/^\d{1,9}$/.test(delay) || Number(delay) < 1) {
      throw new InvalidValue(`invalid delay ${show('+' + delay)} in ${show(whole)}: expects +N minutes, N >= 1`);
    }
    delayMinutes = Number(delay);
  }
  if (!JOB_ID.test(idText)) {
    throw new InvalidValue(`invalid job id ${show(idText)} in dependency ${show(whole)}`);
  }
  const target: DependencyTarget = { jobId: idText };
  if (delayMinutes !== undefined) target.delayMinutes = delayMinutes;
  return target;
}

export function parseDependencyExpression(text: string): DependencySpec {
  const whole = text.trim();
  if (whole === '') throw new InvalidValue('expects a dependency such as afterok:123, got an empty value');
  if (/\s/.test(whole)) throw new InvalidValue(`dependency ${show(whole)} must not contain spaces`);

  const hasAll = whole.includes(',');
  const hasAny = whole.includes('?');
  if (hasAll && hasAny) {
    throw new InvalidValue(`dependency ${show(whole)} mixes "," (all of) and "?" (any of); SLURM does not support mixing them`);
  }
  const combine: DependencySpec['combine'] = hasAny ? 'any' : 'all';
  const parts = whole.split(hasAny ? '?' : ',');
  if (parts.length > MAX_CLAUSES) throw new InvalidValue('dependency has too many clauses');

  const clauses: DependencyClause[] = [];
  let oldFormIds: DependencyTarget[] | undefined;
  for (const part of parts) {
    if (part === '') throw new InvalidValue(`empty clause in dependency ${show(whole)}`);
    if (part.toLowerCase() === 'singleton') {
      clauses.push({ kind: 'singleton', targets: [] });
      continue;
    }
    const colon = part.indexOf(':');
    if (colon === -1) {
      // Old form: a bare job id, meaning afterany; slurmctld only takes it in "," lists.
      // All bare ids share one clause (order does not matter when every clause must hold).
      if (combine === 'any') {
        throw new InvalidValue(`bare job id ${show(part)} cannot be used with "?"; write afterany:${part}`);
      }
      const target = parseTarget(part, 'afterany', whole);
      if (oldFormIds === undefined) {
        oldFormIds = [];
        clauses.push({ kind: 'afterany', targets: oldFormIds });
      }
      oldFormIds.push(target);
      continue;
    }
    const kind = part.slice(0, colon).toLowerCase();
    if (!KINDS.has(kind)) {
      throw new InvalidValue(
        `unknown dependency type ${show(part.slice(0, colon))} in ${show(whole)}: expects after, afterany, afterok, afternotok, aftercorr, afterburstbuffer or singleton`,
      );
    }
    const ids = part.slice(colon + 1).split(':');
    const targets = ids.map((id) => parseTarget(id, kind as DependencyKind, whole));
    clauses.push({ kind: kind as DependencyKind, targets });
  }
  return { combine, clauses };
}
