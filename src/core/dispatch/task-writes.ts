import type { ArrayTasks, PendingTasks, TaskUpsert } from './observation';

/** What the follower last wrote for one array's tasks (kept in memory while it follows the island). */
export interface WrittenTasks {
  /** Task id → the row written, as JSON. */
  listed: Map<number, string>;
  pending: PendingTasks[];
}

export interface TaskWrites {
  listed: TaskUpsert[];
  pending: PendingTasks[];
  /** What has been written once these writes are done. */
  written: WrittenTasks;
}

/** The ids of `ids` that are not in `known` (both sorted). */
function sortedDifference(ids: number[], known: number[]): number[] {
  const out: number[] = [];
  let k = 0;
  for (const id of ids) {
    while (k < known.length && known[k] < id) k++;
    if (k === known.length || known[k] !== id) out.push(id);
  }
  return out;
}

/**
 * The task rows an observation changes, given what was written before: a held or pending array's
 * remainder that SLURM reports again unchanged (or only shrunk, as its tasks start) writes nothing,
 * and of the tasks SLURM lists one by one only those that changed are written. Without `previous`
 * (a new follower, or a write that failed) everything is written. Pure.
 */
export function taskWrites(previous: WrittenTasks | undefined, tasks: ArrayTasks): TaskWrites {
  const listed: TaskUpsert[] = [];
  const written: WrittenTasks = { listed: new Map(), pending: tasks.pending };
  for (const task of tasks.listed) {
    const row = JSON.stringify(task);
    if (previous?.listed.get(task.task_id) !== row) listed.push(task);
    written.listed.set(task.task_id, row);
  }
  const pending: PendingTasks[] = [];
  for (const group of tasks.pending) {
    const fields = JSON.stringify(group.fields);
    const same = previous?.pending.find((p) => JSON.stringify(p.fields) === fields);
    const taskIds = same ? sortedDifference(group.taskIds, same.taskIds) : group.taskIds;
    if (taskIds.length > 0) pending.push({ taskIds, fields: group.fields });
  }
  return { listed, pending, written };
}
