import { clientFor, Context, printJson } from '../context';
import { ExitCode, usage } from '../exit-codes';
import { scontrolJobText } from '../job-detail';
import { jobIds, JobView } from '../job-filters';
import { perJob } from './per-job';

/**
 * `hold`/`release` (scontrol hold/release): each named pending job is held or released; every
 * job's outcome is reported and the exit code is the first failure's, as scancel does.
 */
export async function holdOrRelease(context: Context, action: 'hold' | 'release', positionals: string[]): Promise<number> {
  const ids = jobIds(positionals);
  if (ids.length === 0) throw usage(`${action}: give at least one job id`);
  const client = clientFor(context);
  const { results, exitCode } = await perJob(context, action, ids, (id) => client.json<JobView>('POST', `/v1/jobs/${id}/${action}`));
  if (context.json) printJson(context, { [action === 'hold' ? 'held' : 'released']: results });
  return exitCode;
}

/** `scontrol show job ID…`, `scontrol hold ID…`, `scontrol release ID…`: the subset of scontrol a job's owner uses. */
export async function scontrol(context: Context, positionals: string[]): Promise<number> {
  const [verb, ...rest] = positionals;
  if (verb === 'hold' || verb === 'release') return holdOrRelease(context, verb, rest);
  if (verb !== 'show' || (rest[0] !== 'job' && rest[0] !== 'jobs')) {
    throw usage('scontrol: supported: "show job ID...", "hold ID...", "release ID..." (nodes: "archipelago node drain|resume|remove")');
  }
  const ids = jobIds(rest.slice(1));
  if (ids.length === 0) throw usage('scontrol show job: give at least one job id');
  const client = clientFor(context);
  const jobs = [];
  for (const id of ids) jobs.push(await client.json<JobView>('GET', `/v1/jobs/${id}`));
  if (context.json) printJson(context, { jobs });
  else context.out(jobs.map(scontrolJobText).join('\n\n'));
  return ExitCode.OK;
}
