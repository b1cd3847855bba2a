/**
 * Runs `task` now and then again `intervalMs` after each run ends (never overlapping itself),
 * until the returned stop function is called. Failures are reported and do not stop the loop.
 */
export function repeatEvery(intervalMs: number, task: () => Promise<unknown>, onError: (error: Error) => void): () => void {
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;
  const run = () => {
    task()
      .catch((error) => onError(error as Error))
      .finally(() => {
        if (!stopped) timer = setTimeout(run, intervalMs);
      });
  };
  run();
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
  };
}
