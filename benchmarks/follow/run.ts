/**
 * What following a SLURM island costs, per slurmrestd endpoint and through the REST adapter, as the
 * number of finished jobs slurmctld keeps grows (MinJobAge × throughput: 100,000 at 500 jobs/s and
 * MinJobAge 200 s). `--slurm 24.11` (default) speaks v0.0.42; `--slurm 22.05` (a Debian 12 host's own
 * SLURM) speaks v0.0.38, for the comparison with 22.05's full listings.
 *
 *   npx tsc -p tsconfig.json && node dist/benchmarks/follow/run.js [--slurm 24.11|22.05] [--sizes 2000,5000,100000]
 *        [--rounds 5] [--full-max 5000] [--follow 10,100,1000] [--followed 100,1000] [--keep] [--reuse]
 *
 * Mind --full-max: a full listing of 20,000 jobs grew slurmrestd past 10 GiB (the run was stopped).
 *
 * The benchmark starts its own island `follow-c` (index 9: slurmctld 7727, slurmrestd 7730; SLURM 24.11
 * from the Debian 13 root on a Debian 12 host, the host's own on Debian 13, or with --slurm 22.05 the
 * Debian 12 host's own; no accounting; MinJobAge one
 * day so nothing is purged; state on tmpfs) and stops it at the end unless --keep (--reuse measures an
 * island a --keep run left up, filling only what a size still lacks: filling 100,000 takes ~10 min). It fills slurmctld
 * with finished jobs cheaply: held jobs submitted over REST, then cancelled in bulk (a cancelled pending
 * job is a finished job record like any other, without running), plus one 200-task array that really ran.
 *
 * For each size it sends each request once unmeasured (warm-up), then at least --rounds times and for at
 * least 2 s (cheap requests need many rounds: CPU time is counted in 10 ms ticks), at most 1,000 times, as
 * the read user, and records the HTTP status, the jobs and bytes returned, wall time, the CPU time
 * slurmctld and slurmrestd spent per request (from /proc/<pid>/stat of the pids in the island's pid files,
 * summed over the rounds) and the
 * client's JSON.parse time. `coresAt1Hz` = (slurmctld + slurmrestd + parse) CPU seconds per request, i.e.
 * the cores a follower asking once a second would cost. Requests:
 *   jobs                 GET /slurm/v0.0.42/jobs/                       (only up to --full-max jobs)
 *   jobs-v0.0.40         GET /slurm/v0.0.40/jobs/                       (the same, older parser; idem)
 *   update-unchanged     GET /slurm/v0.0.42/jobs/?update_time=now       (nothing changed: empty)
 *   update-changed       GET /slurm/v0.0.42/jobs/?update_time=now-3600  (= the full list; idem)
 *   state-all            GET /slurm/v0.0.42/jobs/state/                 (only up to --full-max jobs)
 *   state-<k>            GET /slurm/v0.0.42/jobs/state/?job_id=..       (k ids, the parameter repeated)
 *   job                  GET /slurm/v0.0.42/job/<id>
 *   adapter-list         RestSlurmClient.listJobs(): what the follower pays for a full listing (only up to --full-max)
 *   adapter-unchanged    RestSlurmClient.listJobs(since) with nothing changed: what a quiet tick costs (status 304: null; only up to --full-max)
 *   follower-quiet-<n>   the by-id follower's tick (jobStates of n held jobs + the records StateWatch picks:
 *                        here its refresh round of pending jobs), as follow.service.ts does on 24.11
 *   follower-changes-<n> the same while 5 of the n end before each tick (cancelled: their records are read)
 *   cancels-only-<n>     those 5 cancels alone, to subtract from the row above
 * With --slurm 22.05 the v0.0.38 requests are jobs, update-unchanged (HTTP 304), job and the two adapter
 * ones (v0.0.38 has no jobs/state). For the adapter rows `parseMs` is this process's CPU time per call
 * (JSON parse and record mapping included).
 *
 * JSON on stdout and in benchmarks/results/follow-<timestamp>.json; a summary on stderr.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { REPO } from '../../test/support/control-plane';
import { rootFor2411 } from '../../test/support/slurm-releases';
import { RestSlurmClient } from '../../src/adapters/slurm/rest/rest-slurm-client';
import { StateWatch, statesFingerprint } from '../../src/core/dispatch/state-watch';
import type { SlurmJobState } from '../../src/core/slurm/slurm-client.port';
import { eachFlag } from '../flags';
import { machineAtEnd, machineAtStart } from '../support/machine.cjs';

const ISLAND = 'follow-c';
const ISLAND_INDEX = 9;
const ETC = `/etc/archipelago/islands/${ISLAND}`;
const RUN = `/run/archipelago/islands/${ISLAND}`;
const OWNER = 'alice';
const READER = 'archipelago';
const TICKS_PER_SECOND = 100;
const STATE_DIR = `/dev/shm/archipelago/islands/${ISLAND}/ctld`;
const SUBMIT_CONCURRENCY = 8;
const RAN_TASKS = 200;
/** Jobs ending per tick in the `follower-changes` rows. */
const CHANGES_PER_TICK = 5;

interface Settings {
  slurm: '24.11' | '22.05';
  sizes: number[];
  rounds: number;
  fullMax: number;
  follow: number[];
  /** Held jobs the by-id follower follows (the `follower-*` rows), 24.11 only. */
  followed: number[];
  keep: boolean;
  reuse: boolean;
}

function parseArgs(argv: string[]): Settings {
  const s: Settings = {
    slurm: '24.11',
    sizes: [2000, 5000, 100000],
    rounds: 5,
    fullMax: 5000,
    follow: [10, 100, 1000],
    followed: [100, 1000],
    keep: false,
    reuse: false,
  };
  const list = (value: string | undefined, flag: string) => {
    const values = (value ?? '').split(',').map(Number);
    if (values.some((v) => !Number.isInteger(v) || v < 1 || v > 1_000_000)) throw new Error(`${flag}: comma-separated counts`);
    return values;
  };
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--sizes') s.sizes = list(argv[++i], '--sizes').sort((a, b) => a - b);
    else if (argv[i] === '--follow') s.follow = list(argv[++i], '--follow');
    else if (argv[i] === '--followed') s.followed = list(argv[++i], '--followed');
    else if (argv[i] === '--keep') s.keep = true;
    else if (argv[i] === '--reuse') s.reuse = true;
    else if (argv[i] === '--slurm') {
      const v = argv[++i];
      if (v !== '24.11' && v !== '22.05') throw new Error('--slurm: 24.11 or 22.05');
      s.slurm = v;
    } else rest.push(argv[i]);
  }
  eachFlag(rest, { integers: true }, (flag, num) => {
    if (flag === '--rounds') s.rounds = num(1, 100);
    else if (flag === '--full-max') s.fullMax = num(0, 1_000_000);
    else throw new Error(`unknown flag ${flag} (--sizes a,b --rounds R --full-max N --follow a,b --followed a,b --keep --reuse)`);
  });
  return s;
}

const log = (line: string) => process.stderr.write(`[follow ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
const round = (v: number, digits = 1) => Math.round(v * 10 ** digits) / 10 ** digits;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function inIsland(args: string[], user?: string): string {
  return execFileSync(join(REPO, 'slurm/local/island-exec.sh'), [...(user ? ['-u', user] : []), ISLAND, ...args], {
    encoding: 'utf8',
    maxBuffer: 64 * 2 ** 20,
  });
}

function pidOf(daemon: string): number {
  return Number(readFileSync(join(RUN, `${daemon}.pid`), 'utf8').trim());
}
/** utime + stime of a whole process (all threads), in clock ticks. */
function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8')
    .replace(/^.*\) /, '')
    .split(' ');
  return Number(fields[11]) + Number(fields[12]);
}
/** VmRSS (now) or VmHWM (the peak) of a process, MiB. */
function memoryMiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${field}:`));
  return line ? round(Number(line.replace(/\D+/g, '')) / 1024) : 0;
}

function startIsland(settings: Settings): { url: string; slurm: string; api: string } {
  const hostSlurm = execFileSync('slurmctld', ['-V'], { encoding: 'utf8' });
  if (!hostSlurm.includes(` ${settings.slurm}.`) && settings.slurm === '22.05')
    throw new Error(`--slurm 22.05 needs a host with SLURM 22.05, not ${hostSlurm.trim()}`);
  const env = {
    ...process.env,
    ISLAND_ROOT: settings.slurm === '24.11' ? rootFor2411() : '',
    NODES: '3',
    NODE_CPUS: '16',
    ACCOUNTING: '0',
    MIN_JOB_AGE: '86400',
    MAX_JOB_COUNT: String(settings.sizes[settings.sizes.length - 1] + RAN_TASKS + 20000),
    STATE_DIR,
  };
  if (!settings.reuse)
    execFileSync('bash', [join(REPO, 'slurm/local/island-up.sh'), ISLAND, String(ISLAND_INDEX)], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  const islandEnv = readFileSync(join(ETC, 'env'), 'utf8');
  const field = (name: string) => new RegExp(`^${name}=(.*)$`, 'm').exec(islandEnv)![1];
  return { url: field('SLURM_REST_URL'), slurm: field('SLURM_VERSION'), api: field('SLURM_REST_API') };
}

function token(user: string): string {
  return /^SLURM_JWT=(\S+)$/m.exec(inIsland(['scontrol', 'token', `username=${user}`, 'lifespan=86400']))![1];
}

async function main(): Promise<void> {
  const settings = parseArgs(process.argv.slice(2));
  const machine = machineAtStart();
  log(`${settings.reuse ? 'reusing' : 'starting'} island ${ISLAND} (index ${ISLAND_INDEX})`);
  const island = startIsland(settings);
  const headers = (user: string, jwt: string) => ({ 'X-SLURM-USER-NAME': user, 'X-SLURM-USER-TOKEN': jwt });
  const owner = headers(OWNER, token(OWNER));
  const reader = headers(READER, token(READER));
  const ctld = pidOf('slurmctld');
  const restd = pidOf('slurmrestd');
  const api = island.api;
  const modern = api !== 'v0.0.38';
  // The adapter as the control plane builds it, at the version it negotiates by itself.
  const client = new RestSlurmClient({
    name: ISLAND,
    readUser: READER,
    rest: {
      url: island.url,
      jwtKey: readFileSync(`/var/lib/archipelago/islands/${ISLAND}/jwt_hs256.key`),
      tokenLifetimeSeconds: 3600,
      connections: 2,
      timeoutMs: 600_000,
    },
  });

  /** Jobs slurmctld holds (every state; a finished array task counts as one). */
  const jobsInController = () =>
    inIsland(['squeue', '-h', '--states=all', '-o', '%i'])
      .split('\n')
      .filter((l) => l.trim() !== '').length;
  // Job ids to ask for by id: the owner's single jobs (a reused island's too).
  const submitted: number[] = inIsland(['squeue', '-h', '-u', OWNER, '--states=all', '-o', '%i'])
    .split('\n')
    .filter((l) => /^\d+$/.test(l.trim()))
    .map(Number);
  async function submitHeld(count: number): Promise<void> {
    const script = '#!/bin/bash\ntrue\n';
    const job = { hold: true, partition: 'debug', current_working_directory: `/home/${OWNER}`, standard_output: '/dev/null' };
    // v0.0.38: the script beside the job and the environment as an object; 23.11+: inside it, as a list.
    const submission = (name: string) =>
      modern
        ? { job: { ...job, name, script, environment: ['PATH=/usr/bin:/bin'] } }
        : { script, job: { ...job, name, environment: { PATH: '/usr/bin:/bin' } } };
    let next = 0;
    const worker = async () => {
      while (next < count) {
        next++;
        const res = await fetch(`${island.url}/slurm/${api}/job/submit`, {
          method: 'POST',
          headers: { ...owner, 'Content-Type': 'application/json' },
          body: JSON.stringify(submission(`follow-${submitted.length}`)),
        });
        const body = (await res.json()) as { job_id?: number; errors?: unknown[] };
        if (res.status !== 200 || !body.job_id) throw new Error(`submit: HTTP ${res.status} ${JSON.stringify(body.errors)}`);
        submitted.push(body.job_id);
      }
    };
    await Promise.all(Array.from({ length: SUBMIT_CONCURRENCY }, worker));
  }
  function cancelPending(): void {
    inIsland(['scancel', '-u', OWNER, '-t', 'PENDING']);
  }
  /**
   * Nothing changed in the last second (slurmctld's job counters in `diag` stood still): the
   * "unchanged" requests below really are unchanged. Returns a time to follow from. Not asked with
   * `update_time`, which after any change answers with every job (at 100,000 that took slurmrestd
   * past 8 GiB).
   */
  async function quiet(): Promise<number> {
    const counters = async () => {
      const res = await fetch(`${island.url}/slurm/${api}/diag/`, { headers: reader });
      const stats = ((await res.json()) as { statistics?: Record<string, unknown> }).statistics ?? {};
      return JSON.stringify(
        ['jobs_submitted', 'jobs_started', 'jobs_completed', 'jobs_canceled', 'jobs_failed', 'jobs_pending', 'jobs_running'].map((k) => stats[k]),
      );
    };
    let last = await counters();
    for (let i = 0; i < 60; i++) {
      await sleep(1000);
      const now = await counters();
      if (now === last) return Math.floor(Date.now() / 1000) - 1;
      last = now;
    }
    throw new Error('the island did not become quiet within 60 s');
  }

  /** One request's outcome; `recordsRead`: full job records a follower tick fetched. */
  interface Sample {
    status: number;
    jobs: number;
    bytes: number;
    parseMs: number;
    recordsRead?: number;
  }
  interface Measured {
    request: string;
    rounds: number;
    status: number;
    jobs: number;
    bytes: number;
    wallMsP50: number;
    ctldCpuMs: number;
    restdCpuMs: number;
    parseMs: number;
    coresAt1Hz: number;
    /** Follower rows: full records read per tick, on average. */
    recordsReadPerTick?: number;
  }
  /** One request over HTTP as the read user, parsed: status, jobs, bytes, and the parse time. */
  async function raw(path: string): Promise<Sample> {
    const res = await fetch(`${island.url}${path}`, { headers: reader, signal: AbortSignal.timeout(600_000) });
    const text = await res.text();
    const p0 = performance.now();
    const body = text ? (JSON.parse(text) as { jobs?: unknown[] }) : {};
    return { status: res.status, jobs: body.jobs?.length ?? 0, bytes: text.length, parseMs: performance.now() - p0 };
  }

  /** One adapter call; `parseMs` is this process's CPU time for it (parse and mapping included). */
  async function adapter(since?: number): Promise<Sample> {
    const cpu0 = process.cpuUsage();
    const snapshot = await client.listJobs(since);
    const cpu = process.cpuUsage(cpu0);
    return { status: snapshot ? 200 : 304, jobs: snapshot?.jobs.length ?? 0, bytes: 0, parseMs: (cpu.user + cpu.system) / 1000 };
  }

  /**
   * One tick of the by-id follower (features/jobs/dispatch/follow.service.ts) on the SLURM side: the
   * states of the followed jobs, then the full records StateWatch picks (changed states, and the
   * refresh round of pending jobs). The jobs start as the follower's database would have them (held
   * = PENDING), so steady state includes that refresh round. `parseMs` is this process's CPU.
   */
  function followerTick(watch: StateWatch, ids: number[]): () => Promise<Sample> {
    return async () => {
      const cpu0 = process.cpuUsage();
      const states = (await client.jobStates(ids)) ?? [];
      const byId = new Map<number, SlurmJobState[]>();
      for (const state of states) byId.set(state.jobId, [...(byId.get(state.jobId) ?? []), state]);
      const now = Date.now();
      const probes = ids.map((id) => {
        const entries = byId.get(id) ?? [];
        const fingerprint = entries.length ? statesFingerprint(entries) : null;
        return { key: String(id), fingerprint, pending: entries.some((e) => e.state === 'PENDING'), matchesStored: true };
      });
      const plan = watch.plan(probes, now);
      for (const key of plan.fetch) {
        await client.getJob(Number(key));
        watch.recorded(key, probes.find((p) => p.key === key)!.fingerprint!, now);
      }
      const cpu = process.cpuUsage(cpu0);
      return { status: 200, jobs: states.length, bytes: 0, parseMs: (cpu.user + cpu.system) / 1000, recordsRead: plan.fetch.length };
    };
  }

  /** `maxRounds` bounds rounds that use something up (jobs to cancel). */
  async function measure(request: string, once: () => Promise<Sample>, maxRounds = 1000): Promise<Measured> {
    const walls: number[] = [];
    let last: Sample = { status: 0, jobs: 0, bytes: 0, parseMs: 0 };
    let parse = 0;
    let recordsRead = 0;
    await once();
    const ctld0 = cpuTicks(ctld);
    const restd0 = cpuTicks(restd);
    const start = performance.now();
    let rounds = 0;
    for (; rounds < maxRounds && (rounds < settings.rounds || performance.now() - start < 2000); rounds++) {
      const t0 = performance.now();
      last = await once();
      walls.push(performance.now() - t0);
      parse += last.parseMs;
      recordsRead += last.recordsRead ?? 0;
    }
    const perRequest = (ticks: number) => (ticks * 1000) / TICKS_PER_SECOND / rounds;
    const ctldCpuMs = perRequest(cpuTicks(ctld) - ctld0);
    const restdCpuMs = perRequest(cpuTicks(restd) - restd0);
    const parseMs = parse / rounds;
    walls.sort((a, b) => a - b);
    const m: Measured = {
      request,
      rounds,
      status: last.status,
      jobs: last.jobs,
      bytes: last.bytes,
      wallMsP50: round(walls[Math.floor(walls.length / 2)]),
      ctldCpuMs: round(ctldCpuMs, 2),
      restdCpuMs: round(restdCpuMs, 2),
      parseMs: round(parseMs, 2),
      coresAt1Hz: round((ctldCpuMs + restdCpuMs + parseMs) / 1000, 4),
    };
    if (last.recordsRead !== undefined) m.recordsReadPerTick = round(recordsRead / rounds, 2);
    log(
      `${request.padEnd(18)} ×${String(rounds).padStart(4)} HTTP ${m.status} ${String(m.jobs).padStart(6)} jobs ${String(m.bytes).padStart(10)} B  wall ${m.wallMsP50} ms  ctld ${m.ctldCpuMs} ms  restd ${m.restdCpuMs} ms  parse ${m.parseMs} ms  → ${m.coresAt1Hz} cores at 1/s`,
    );
    return m;
  }

  // one real array first: records of jobs that ran (resources, exit codes), not only cancelled ones
  if (jobsInController() < RAN_TASKS) {
    inIsland(['sbatch', '--parsable', `--array=1-${RAN_TASKS}`, '--output=/dev/null', '--wrap', 'true'], OWNER);
    for (let i = 0; i < 300 && inIsland(['squeue', '-h', '-u', OWNER, '-t', 'PD,R,CG']).trim() !== ''; i++) await sleep(1000);
  }

  const results: Array<{
    finishedJobs: number;
    fillSeconds: number;
    ctldRssMiB: number;
    restdRssMiB: number;
    restdPeakMiB: number;
    requests: Measured[];
  }> = [];
  for (const size of settings.sizes) {
    const t0 = performance.now();
    await submitHeld(Math.max(0, size - jobsInController()));
    cancelPending();
    const fillSeconds = round((performance.now() - t0) / 1000);
    log(`${size} finished jobs in slurmctld (filled in ${fillSeconds} s)`);
    const since = await quiet();
    const requests: Measured[] = [];
    const ids = [...submitted].sort(() => Math.random() - 0.5);
    const v = `/slurm/${api}`;
    if (size <= settings.fullMax) {
      requests.push(await measure('jobs', () => raw(`${v}/jobs/`)));
      if (modern) {
        requests.push(await measure('jobs-v0.0.40', () => raw('/slurm/v0.0.40/jobs/')));
        requests.push(await measure('update-changed', () => raw(`${v}/jobs/?update_time=now-3600`)));
      }
      requests.push(await measure('adapter-list', () => adapter()));
    }
    requests.push(await measure('update-unchanged', () => raw(`${v}/jobs/?update_time=${modern ? 'now' : Math.floor(Date.now() / 1000)}`)));
    // only up to --full-max: should anything change meanwhile, the adapter's answer is a full listing
    if (size <= settings.fullMax) requests.push(await measure('adapter-unchanged', () => adapter(since)));
    if (modern) {
      // every job's state: superlinear (66 s a request at 100,000 jobs), so only up to --full-max
      if (size <= settings.fullMax) requests.push(await measure('state-all', () => raw(`${v}/jobs/state/`)));
      for (const k of settings.follow) {
        requests.push(
          await measure(`state-${k}`, () =>
            raw(
              `${v}/jobs/state/?${ids
                .slice(0, k)
                .map((id) => `job_id=${id}`)
                .join('&')}`,
            ),
          ),
        );
      }
    }
    requests.push(await measure('job', () => raw(`${v}/job/${ids[0]}`)));
    if (modern) {
      // Held jobs to follow, submitted now (they are cancelled with the next size's fill and count in it).
      for (const count of settings.followed) {
        const first = submitted.length;
        await submitHeld(count);
        const followed = submitted.slice(first);
        const watch = new StateWatch();
        requests.push(await measure(`follower-quiet-${count}`, followerTick(watch, followed)));
        // CHANGES_PER_TICK of them end before each tick (cancelled as their owner): the tick reads their records.
        let next = 0;
        const cancelSome = async () => {
          for (let i = 0; i < CHANGES_PER_TICK && next < followed.length; i++) await client.cancel(OWNER, followed[next++]);
        };
        const tick = followerTick(watch, followed);
        // half the jobs for this row, half for the next (each with its warm-up round)
        const changeRounds = Math.max(1, Math.floor(count / 2 / CHANGES_PER_TICK) - 1);
        requests.push(
          await measure(
            `follower-changes-${count}`,
            async () => {
              await cancelSome();
              return tick();
            },
            changeRounds,
          ),
        );
        // what the cancels alone cost slurmctld/slurmrestd, to subtract from the row above
        requests.push(
          await measure(
            `cancels-only-${count}`,
            async () => {
              const cpu0 = process.cpuUsage();
              await cancelSome();
              const cpu = process.cpuUsage(cpu0);
              return { status: 200, jobs: 0, bytes: 0, parseMs: (cpu.user + cpu.system) / 1000 };
            },
            changeRounds,
          ),
        );
      }
      cancelPending();
    }
    const memory = { ctldRssMiB: memoryMiB(ctld, 'VmRSS'), restdRssMiB: memoryMiB(restd, 'VmRSS'), restdPeakMiB: memoryMiB(restd, 'VmHWM') };
    log(`memory: slurmctld ${memory.ctldRssMiB} MiB, slurmrestd ${memory.restdRssMiB} MiB (peak ${memory.restdPeakMiB})`);
    results.push({ finishedJobs: size, fillSeconds, ...memory, requests });
  }

  await client.close();
  if (!settings.keep) {
    execFileSync('bash', [join(REPO, 'slurm/local/island-down.sh'), ISLAND], { stdio: ['ignore', 'ignore', 'inherit'] });
    rmSync(STATE_DIR, { recursive: true, force: true }); // tmpfs: the saved queue would hold memory
  }
  const report = {
    benchmark: 'follow',
    at: new Date().toISOString(),
    machine: machineAtEnd(machine),
    island: { name: ISLAND, slurm: island.slurm, api, rounds: settings.rounds },
    results,
  };
  const out = JSON.stringify(report, null, 2);
  const dir = join(REPO, 'benchmarks/results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `follow-${report.at.replace(/[:.]/g, '-')}.json`), out + '\n');
  process.stdout.write(out + '\n');
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
