import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { ApiClient } from '../api-client';
import { ApiError } from '../api-client';
import { clientFor, Context, printJson } from '../context';
import { CliError, ExitCode, usage } from '../exit-codes';
import { isTerminalState } from '../format';
import {
  filterFromFlags,
  JobFilter,
  jobIds,
  JobView,
  listQuery,
  matches,
  parseSlurmTime,
  SQUEUE_DEFAULT_STATES,
  startOfDay,
  type TaskLineView,
} from '../job-filters';
import { arrayTaskLines, progressLine, sacctTable, squeueTable, waitExitCode } from '../job-tables';
import { perJob } from './per-job';
import { exportedEnvironment, parseSbatchArgs } from '../sbatch-args';
import { parseSubmission, SbatchParseError } from '../../../core/sbatch/parse-sbatch';
import { unwrapSubmission } from '../../../core/sbatch/wrap';

const PAGE = 500;
/** Polling for --wait and --follow backs off to this, so a long job costs a request every few seconds. */
const MAX_POLL_MS = 5000;

function readScript(path: string | undefined): string {
  try {
    return readFileSync(path ?? 0, 'utf8');
  } catch (error) {
    throw usage(`unable to open file ${path ?? '(standard input)'}: ${(error as Error).message}`);
  }
}

/** sbatch's own refusals (bad option, bad script) become usage errors: nothing was sent. */
function sbatchRules<T>(work: () => T): T {
  try {
    return work();
  } catch (error) {
    if (error instanceof SbatchParseError) throw usage(`sbatch: error: ${error.message}`);
    throw error;
  }
}

export async function sbatch(context: Context, argv: string[]): Promise<number> {
  const invocation = sbatchRules(() => parseSbatchArgs(argv));
  if (invocation.help) {
    context.out(SBATCH_USAGE);
    return ExitCode.OK;
  }
  // With --wrap there is no script to read: the server makes it from the command, as sbatch does.
  const script = invocation.options.wrap === undefined ? readScript(invocation.scriptPath) : undefined;
  // Checked here too, so a typo fails before anything is sent, in sbatch's own words.
  const parsed = sbatchRules(() => {
    const unwrapped = unwrapSubmission(script, invocation.options);
    return parseSubmission(unwrapped.script, unwrapped.options);
  });
  const environment = exportedEnvironment(parsed.spec.export?.variables, context.env);
  const body = {
    ...(script !== undefined ? { script } : {}),
    // sbatch names the job after the script file (and %x with it) unless -J says otherwise.
    ...(invocation.scriptPath !== undefined ? { scriptName: basename(invocation.scriptPath) } : {}),
    options: invocation.options,
    ...(Object.keys(environment).length ? { environment } : {}),
  };
  const client = clientFor(context);
  // One key per invocation: a retry after a lost answer gets the same job back, never a second one.
  const idempotencyKey = `cli-${randomUUID()}`;
  let job = await retryWhileUnavailable(context, () => client.json<JobView>('POST', '/v1/jobs', body, { 'idempotency-key': idempotencyKey }));
  if (!context.json) context.out(invocation.parsable ? job.id : `Submitted batch job ${job.id}`);
  if (invocation.wait) job = await waitForEnd(context, client, job, (line) => context.err(line));
  if (context.json) printJson(context, job);
  return invocation.wait ? waitExitCode(job) : ExitCode.OK;
}

export const SBATCH_USAGE = `usage: archipelago sbatch [sbatch options] [--wait|-W] [--parsable] [--json] [--url URL] [script]
  Options are sbatch 22.05's (e.g. -J NAME, -t TIME, -N NODES, -n TASKS, -c CPUS, --mem SIZE, -p PARTITION,
  -o/-e FILE, -a ARRAY, -d DEPENDENCY, --export NAMES); they override the script's #SBATCH lines.
  Without a script, it is read from standard input; --wrap=CMD runs CMD in a script sbatch would make.`;

const SUBMIT_ATTEMPTS = 4;

/** Retries `work` while the server is unreachable or failing (exit code 6), backing off 1, 2, 4 s. */
async function retryWhileUnavailable<T>(context: Context, work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (!(error instanceof CliError) || error.exitCode !== ExitCode.UNAVAILABLE || attempt >= SUBMIT_ATTEMPTS) throw error;
      context.err(`${error.message}; retrying (${attempt}/${SUBMIT_ATTEMPTS - 1})`);
      await context.sleep(1000 * 2 ** (attempt - 1));
    }
  }
}

/** Polls until the job ends, reporting each change of state (sbatch --wait, with progress). */
export async function waitForEnd(context: Context, client: ApiClient, job: JobView, report: (line: string) => void): Promise<JobView> {
  let last = '';
  let delay = 250;
  for (;;) {
    const line = progressLine(job);
    if (line !== last) {
      report(line);
      last = line;
      delay = 250;
    }
    if (isTerminalState(job.state)) return job;
    await context.sleep(delay);
    delay = Math.min(delay * 2, MAX_POLL_MS);
    job = await client.json<JobView>('GET', `/v1/jobs/${job.id}`);
  }
}

/** Every job the server returns for the filter, newest first, filtered further here. */
async function findJobs(client: ApiClient, filter: JobFilter, stopBefore?: Date): Promise<JobView[]> {
  if (filter.ids) {
    const found = await Promise.all(
      filter.ids.map((id) =>
        client.json<JobView>('GET', `/v1/jobs/${id}`).catch((error) => {
          if (error instanceof ApiError && error.status === 404) return null;
          throw error;
        }),
      ),
    );
    return found.filter((job): job is JobView => job !== null && matches(job, filter));
  }
  const jobs: JobView[] = [];
  let cursor: string | undefined;
  do {
    const page = await client.json<{ items: JobView[]; nextCursor: string | null }>('GET', `/v1/jobs?${listQuery(filter, PAGE, cursor)}`);
    jobs.push(...page.items.filter((job) => matches(job, filter)));
    cursor = page.nextCursor ?? undefined;
    // Newest first: once a page reaches jobs older than the window, later pages are older still.
    if (stopBefore && page.items.some((job) => Date.parse(job.submittedAt) < stopBefore.getTime())) break;
  } while (cursor);
  return jobs;
}

export async function squeue(context: Context, values: Record<string, any>): Promise<number> {
  const filter = filterFromFlags(values, SQUEUE_DEFAULT_STATES);
  const client = clientFor(context);
  let jobs = await findJobs(client, filter);
  if (values.array) {
    // squeue -r: one array task per line, each selected by the same state and island filters.
    const lineFilter = { ...filter, ids: undefined };
    const expanded: JobView[] = [];
    for (const job of jobs) {
      if (!job.array) expanded.push(job);
      else expanded.push(...arrayTaskLines(job, await allTasks(client, job.id)).filter((line) => line.id === job.id || matches(line, lineFilter)));
    }
    jobs = expanded;
  }
  if (context.json) printJson(context, { jobs });
  else context.out(squeueTable(jobs, context.now(), !values.noheader));
  return ExitCode.OK;
}

export async function sacct(context: Context, values: Record<string, any>): Promise<number> {
  const now = context.now();
  const filter: JobFilter = {
    ...filterFromFlags({ ...values, states: values.state, jobs: values.jobs }, undefined),
    // sacct's default window starts at midnight today; asking for job ids removes it, as in sacct.
    submittedFrom: values.starttime ? parseSlurmTime(values.starttime, now) : values.jobs ? undefined : startOfDay(now),
    submittedUntil: values.endtime ? parseSlurmTime(values.endtime, now) : undefined,
  };
  const client = clientFor(context);
  const jobs = await findJobs(client, filter, filter.submittedFrom);
  jobs.reverse(); // sacct lists oldest first
  // Arrays are listed task by task, as sacct lists them.
  const tasks = new Map<string, TaskLineView[]>();
  for (const job of jobs) if (job.array) tasks.set(job.id, await allTasks(client, job.id));
  if (context.json) printJson(context, { jobs: jobs.map((job) => (tasks.has(job.id) ? { ...job, tasks: tasks.get(job.id) } : job)) });
  else
    context.out(
      sacctTable(
        jobs.flatMap((job) => arrayTaskLines(job, tasks.get(job.id) ?? [])),
        now,
        !values.noheader,
      ),
    );
  return ExitCode.OK;
}

/** Every task of an array as its own line (`GET /v1/jobs?array=`), a page at a time. */
async function allTasks(client: ApiClient, id: string): Promise<TaskLineView[]> {
  const out: TaskLineView[] = [];
  let cursor: string | null = null;
  for (;;) {
    const query: URLSearchParams = new URLSearchParams({ array: id, limit: '500', ...(cursor ? { cursor } : {}) });
    const page: { items: TaskLineView[]; nextCursor: string | null } = await client.json<{ items: TaskLineView[]; nextCursor: string | null }>(
      'GET',
      `/v1/jobs?${query}`,
    );
    out.push(...page.items);
    if (page.nextCursor === null) return out;
    cursor = page.nextCursor;
  }
}

export async function scancel(context: Context, values: Record<string, any>, positionals: string[]): Promise<number> {
  const ids = jobIds(positionals);
  const filtered = ['states', 'name', 'user', 'partition', 'island'].some((k) => values[k] !== undefined) || values.me;
  if (ids.length === 0 && !filtered) throw usage('scancel: error: No job identification provided');
  const client = clientFor(context);
  const filter = filterFromFlags(values, SQUEUE_DEFAULT_STATES);
  if (ids.length) filter.ids = ids;
  // Named ids are cancelled even if they already ended, so scancel can say so; filters select live jobs only.
  const targets = ids.length && !filtered ? ids : (await findJobs(client, filter)).map((job) => job.id);
  const { results, exitCode } = await perJob(context, 'scancel', targets, (id) => client.json<JobView>('DELETE', `/v1/jobs/${id}`));
  if (context.json) printJson(context, { cancelled: results });
  return exitCode;
}

/** One chunk of a job's output file from `offset`; null while the file does not exist yet. */
const CHUNK_BYTES = 16 * 1024 * 1024;

/** One read of the job's output: from `offset` on, or its last `lines` lines. */
async function outputChunk(client: ApiClient, id: string, stream: string, task: string | undefined, from: { offset: number } | { lines: number }) {
  // At most 16 MiB a request: each request is bounded by the client's timeout, the loop reads on.
  const query = new URLSearchParams({
    stream,
    ...('lines' in from ? { tailLines: String(from.lines) } : { offset: String(from.offset), length: String(CHUNK_BYTES) }),
  });
  if (task !== undefined) query.set('task', task);
  try {
    const answer = await client.bytes(`/v1/jobs/${id}/output?${query}`);
    const start = Number(/^bytes (\d+)-/.exec(answer.headers.get('content-range') ?? '')?.[1] ?? ('lines' in from ? 0 : from.offset));
    return { data: answer.body, start, size: Number(answer.headers.get('x-output-size') ?? answer.body.length) };
  } catch (error) {
    // 409: not in SLURM yet; 404: SLURM has not created the file yet. Both pass with time.
    if (error instanceof ApiError && (error.status === 409 || (error.status === 404 && /file/.test(error.problem.detail ?? '')))) return null;
    throw error;
  }
}

export async function output(context: Context, values: Record<string, any>, positionals: string[], write: (data: Buffer) => void): Promise<number> {
  const [id, ...extra] = jobIds(positionals);
  if (id === undefined || extra.length) throw usage('output: give exactly one job id');
  const stream = values.stderr ? 'stderr' : 'stdout';
  const task: string | undefined = values.task;
  if (task !== undefined && !/^\d+$/.test(task)) throw usage('--task must be an array task id');
  if (values.lines !== undefined && !/^[1-9]\d{0,5}$/.test(values.lines)) throw usage('--lines must be a number of lines (1-999999)');
  const client = clientFor(context);
  // tail -n: the last lines first, then (with --follow) on from where they ended.
  let lines: number | null = values.lines === undefined ? null : Number(values.lines);
  let offset = 0;
  let delay = 250;
  for (;;) {
    // Read the job's state first: output seen after it is terminal is complete.
    const job = values.follow ? await client.json<JobView>('GET', `/v1/jobs/${id}`) : null;
    const chunk = await outputChunk(client, id, stream, task, lines === null ? { offset } : { lines });
    if (chunk === null && !values.follow) {
      throw new CliError(`job ${id} has no ${stream} yet (it has not started)`, ExitCode.NOT_FOUND);
    }
    if (chunk) {
      lines = null;
      offset = chunk.start;
    }
    if (chunk && chunk.data.length) {
      write(chunk.data);
      offset += chunk.data.length;
      delay = 250;
    }
    const more = chunk !== null && offset < chunk.size;
    if (more) continue;
    if (!values.follow) return ExitCode.OK;
    if (job && isTerminalState(job.state)) return job.state === 'COMPLETED' ? ExitCode.OK : waitExitCode(job);
    await context.sleep(delay);
    delay = Math.min(delay * 2, MAX_POLL_MS);
  }
}
