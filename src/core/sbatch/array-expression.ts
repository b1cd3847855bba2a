/**
 * `--array` index expressions: a comma list of `N`, `N-M` or `N-M:S`, optionally followed by
 * `%T` to run at most T tasks at once. This is the grammar slurmctld accepts.
 *
 * The limits are Archipelago's, set well inside SLURM's: MaxArraySize can be at most 4000001,
 * so no index may exceed 4000000, and one submission may not expand to more than 10000 tasks
 * (each is a job record on the controller).
 */

import type { ArraySpec } from './job-spec';
import { InvalidValue, show } from './sbatch-error';

export const MAX_ARRAY_INDEX = 4_000_000;
export const MAX_ARRAY_TASKS = 10_000;
const MAX_EXPRESSION_LENGTH = 4096;

export function parseArrayExpression(text: string): ArraySpec {
  const expression = text.trim();
  if (expression === '') throw new InvalidValue('expects an index expression such as 0-15, got an empty value');
  if (expression.length > MAX_EXPRESSION_LENGTH) throw new InvalidValue('index expression is too long');

  let body = expression;
  let maxRunning: number | undefined;
  const pct = expression.indexOf('%');
  if (pct !== -1) {
    const throttle = expression.slice(pct + 1);
    body = expression.slice(0, pct);
    if (!/^\d{1,9}$/.test(throttle) || Number(throttle) < 1) {
      throw new InvalidValue(`invalid array throttle ${show('%' + throttle)}: expects %N with N a positive integer`);
    }
    maxRunning = Number(throttle);
  }
  if (body === '') throw new InvalidValue(`invalid array expression ${show(expression)}: no indices before %`);

  // Ids in increasing order (the usual `0-9999`, and what SLURM prints) need no set and no sort:
  // the follower parses a pending remainder's expression on every tick.
  const ordered: number[] = [];
  let ids: Set<number> | null = null;
  for (const element of body.split(',')) {
    const m = /^(\d{1,9})(?:-(\d{1,9})(?::(\d{1,9}))?)?$/.exec(element);
    if (!m) {
      throw new InvalidValue(`invalid array element ${show(element)} in ${show(expression)}: expects N, N-M or N-M:STEP`);
    }
    const first = Number(m[1]);
    const last = m[2] === undefined ? first : Number(m[2]);
    const step = m[3] === undefined ? 1 : Number(m[3]);
    if (last < first) throw new InvalidValue(`array range ${show(element)} ends before it starts`);
    if (step < 1) throw new InvalidValue(`array step in ${show(element)} must be at least 1`);
    if (last > MAX_ARRAY_INDEX) {
      throw new InvalidValue(`array index ${last} exceeds the maximum of ${MAX_ARRAY_INDEX}`);
    }
    if (!ids && ordered.length > 0 && first <= ordered[ordered.length - 1]) ids = new Set(ordered);
    for (let i = first; i <= last; i += step) {
      if (ids) ids.add(i);
      else ordered.push(i);
      // Stop as soon as the limit is crossed: `0-4000000` must not be materialized.
      if ((ids ? ids.size : ordered.length) > MAX_ARRAY_TASKS) {
        throw new InvalidValue(`array ${show(expression)} has more than ${MAX_ARRAY_TASKS} tasks`);
      }
    }
  }

  const spec: ArraySpec = { expression, taskIds: ids ? [...ids].sort((a, b) => a - b) : ordered };
  if (maxRunning !== undefined) spec.maxRunning = maxRunning;
  return spec;
}
