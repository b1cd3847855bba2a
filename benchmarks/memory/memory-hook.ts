/**
 * Preloaded into the API and worker with `--require` by the memory benchmark. Heap figures exist
 * only inside the process, so it appends `process.memoryUsage()` as one JSON line every
 * ARCH_BENCH_MEMORY_INTERVAL_MS (default 250) to <ARCH_BENCH_MEMORY_DIR>/<role>-<pid>.jsonl.
 * The timer is unref'd: it never keeps a process alive or delays its shutdown.
 *
 * On SIGWINCH (ignored by default; SIGUSR2 would shut Nest down) it runs a full garbage collection
 * first and marks that sample `afterGc`: the heap still in use then is what the process retains,
 * not garbage V8 has not collected yet.
 */
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

const dir = process.env.ARCH_BENCH_MEMORY_DIR;
if (dir) {
  const file = join(dir, `${process.argv[2] ?? 'node'}-${process.pid}.jsonl`);
  const every = Number(process.env.ARCH_BENCH_MEMORY_INTERVAL_MS ?? 250);
  // NODE_OPTIONS does not accept --expose-gc; this is the documented way to get gc() at run time.
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const sample = (afterGc: boolean) => {
    const m = process.memoryUsage();
    const line = { t: Date.now(), rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, ...(afterGc ? { afterGc } : {}) };
    appendFileSync(file, JSON.stringify(line) + '\n');
  };
  setInterval(() => sample(false), every).unref();
  process.on('SIGWINCH', () => {
    gc();
    sample(true);
  });
}
