/**
 * Preloaded into the API and worker with `--require` when the benchmark runs with --cpu-prof-dir
 * (Node refuses --cpu-prof in NODE_OPTIONS, and Nest's shutdown hooks re-raise SIGTERM, so a
 * --cpu-prof profile would never be written anyway). Samples from process start; each SIGWINCH
 * (not SIGUSR2: Nest's enableShutdownHooks() shuts the app down on SIGUSR2; SIGWINCH is ignored by default)
 * writes the profile so far to <dir>/<role>-<pid>-<n>.cpuprofile and starts a new one.
 * Open the files in Chrome DevTools or summarize them with profile-summary.js.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

const dir = process.env.ARCH_BENCH_CPU_PROF_DIR;
if (dir) {
  const role = process.argv[2] ?? 'node';
  const session = new Session();
  session.connect();
  let part = 0;
  const start = () => {
    session.post('Profiler.enable', () => session.post('Profiler.start'));
  };
  start();
  process.on('SIGWINCH', () => {
    session.post('Profiler.stop', (error, result) => {
      if (!error && result?.profile) {
        writeFileSync(join(dir, `${role}-${process.pid}-${part++}.cpuprofile`), JSON.stringify(result.profile));
      }
      start();
    });
  });
}
