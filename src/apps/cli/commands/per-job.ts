import type { Context } from '../context';
import { CliError, ExitCode } from '../exit-codes';
import type { JobView } from '../job-filters';

export interface PerJobResult {
  id: string;
  state?: string;
  error?: string;
  exitCode?: number;
}

/**
 * Runs `work` on each job in turn, as scancel and scontrol do: a job that fails is reported on
 * stderr (`<command>: error: job <id>: …`) and the others still go; the exit code is the first
 * failure's.
 */
export async function perJob(context: Context, command: string, ids: readonly string[], work: (id: string) => Promise<JobView>) {
  const results: PerJobResult[] = [];
  for (const id of ids) {
    try {
      results.push({ id, state: (await work(id)).state });
    } catch (error) {
      if (!(error instanceof CliError)) throw error;
      results.push({ id, error: error.message, exitCode: error.exitCode });
      if (!context.json) context.err(`${command}: error: job ${id}: ${error.message}`);
    }
  }
  return { results, exitCode: results.find((r) => r.exitCode !== undefined)?.exitCode ?? ExitCode.OK };
}
