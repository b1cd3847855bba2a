import { readFileSync } from 'node:fs';

/** The processes `pid` has started and that still run (its children, from the kernel's view: Linux only). */
export function childrenOf(pid: number): number[] {
  const tasks = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  return tasks === '' ? [] : tasks.split(/\s+/).map(Number);
}
