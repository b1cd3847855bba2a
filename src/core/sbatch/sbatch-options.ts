/**
 * The sbatch 22.05 option table, as getopt_long sees it.
 *
 * It lists EVERY long option sbatch 22.05 knows, not only the ones Archipelago honours, because
 * getopt_long resolves abbreviations against the whole table: `--tim` is ambiguous (time,
 * time-min) and `--parti` means --partition only because nothing else starts that way. A
 * shorter table would accept abbreviations that real sbatch rejects or reads differently, and
 * the sbatch adapter hands the very same script to sbatch.
 *
 * Each entry is one of:
 *  - supported: normalized into JobSpec by parse-sbatch.ts;
 *  - refused: deliberately forbidden over REST, with the reason shown to the caller;
 *  - unsupported: a real sbatch option Archipelago does not (yet) carry into JobSpec. Refused
 *    too, because silently dropping a resource request would run the job differently from
 *    what the user asked for.
 */

export type ArgMode = 'none' | 'required' | 'optional';

export interface OptionDef {
  /** Long name without dashes, as sbatch spells it. */
  name: string;
  /** Options sharing a canonical name are aliases (getopt does not call them ambiguous). */
  canonical: string;
  short?: string;
  arg: ArgMode;
  status: 'supported' | 'refused' | 'unsupported';
  /** Why a refused option is refused. */
  reason?: string;
}

type Row = [name: string, short: string | null, arg: ArgMode, status?: 'refused' | 'unsupported', reason?: string];

const R = 'refused' as const;
const U = 'unsupported' as const;

const IDENTITY = 'the job runs as the authenticated caller; identity cannot be chosen in the request';
const CLUSTER = 'Archipelago chooses the SLURM cluster (island) itself; -M/--clusters would bypass that placement';
const BURST_BUFFER =
  'no island has a burst buffer (SLURM burst_buffer plugin); stage files in the job script instead, e.g. copy inputs to $TMPDIR or node-local scratch at the start and results back at the end';
const CLIENT_SIDE = "it only changes how the sbatch command behaves on the submitting host, which is not the caller's";

const ROWS: Row[] = [
  // Honoured options.
  ['account', 'A', 'required'],
  ['array', 'a', 'required'],
  ['begin', 'b', 'required'],
  ['chdir', 'D', 'required'],
  ['comment', null, 'required'],
  ['constraint', 'C', 'required'],
  ['cpus-per-task', 'c', 'required'],
  ['threads-per-core', null, 'required'],
  ['switches', null, 'required'],
  ['dependency', 'd', 'required'],
  ['error', 'e', 'required'],
  ['exclusive', null, 'optional'],
  ['export', null, 'required'],
  ['gpus', 'G', 'required'],
  ['gpus-per-node', null, 'required'],
  ['gpus-per-task', null, 'required'],
  ['gres', null, 'required'],
  ['hold', 'H', 'none'],
  ['input', 'i', 'required'],
  ['job-name', 'J', 'required'],
  ['licenses', 'L', 'required'],
  ['mail-type', null, 'required'],
  ['mail-user', null, 'required'],
  ['mem', null, 'required'],
  ['mem-per-cpu', null, 'required'],
  ['mem-per-gpu', null, 'required'],
  ['nice', null, 'optional'],
  ['no-requeue', null, 'none'],
  ['nodes', 'N', 'required'],
  ['ntasks', 'n', 'required'],
  ['ntasks-per-node', null, 'required'],
  ['open-mode', null, 'required'],
  ['output', 'o', 'required'],
  ['partition', 'p', 'required'],
  ['qos', 'q', 'required'],
  ['requeue', null, 'none'],
  ['reservation', null, 'required'],
  ['signal', null, 'required'],
  ['time', 't', 'required'],
  ['time-min', null, 'required'],

  // Refused on purpose.
  ['uid', null, 'required', R, IDENTITY],
  ['gid', null, 'required', R, IDENTITY],
  ['clusters', 'M', 'required', R, CLUSTER],
  ['cluster', null, 'required', R, CLUSTER],
  ['cluster-constraint', null, 'required', R, CLUSTER],
  ['test-only', null, 'none', R, 'a test-only submission creates no job; use the scheduling estimate endpoint instead'],
  ['wrap', null, 'required', R, 'it is an option of the submission (options.wrap, or archipelago sbatch --wrap=CMD), not a directive inside a script'],
  ['export-file', null, 'required', R, 'it reads a file on the submitting host; pass variables with --export instead'],
  ['get-user-env', null, 'optional', R, 'it loads another login environment on the submitting host (a root-only sbatch feature)'],
  ['wait', 'W', 'none', R, `${CLIENT_SIDE} (it blocks until the job ends); poll the job instead`],
  ['parsable', null, 'none', R, CLIENT_SIDE],
  [
    'container',
    null,
    'required',
    R,
    'OCI bundle paths would let a request pick any image on the compute nodes, bypassing image policy; Archipelago has no container support yet',
  ],
  ['help', 'h', 'none', R, CLIENT_SIDE],
  ['usage', null, 'none', R, CLIENT_SIDE],
  ['version', 'V', 'none', R, CLIENT_SIDE],
  ['verbose', 'v', 'none', R, CLIENT_SIDE],
  ['quiet', 'Q', 'none', R, CLIENT_SIDE],
  ['ignore-pbs', null, 'none', R, 'Archipelago does not translate #PBS/#BSUB directives, so there is nothing to ignore'],
  // Not sbatch options at all (srun/salloc only), named here so the refusal explains itself.
  ['x11', null, 'optional', R, 'X11 forwarding is not available for batch jobs submitted over REST'],
  ['prolog', null, 'required', R, 'per-job prolog/epilog programs are not allowed (and are srun options, not sbatch ones)'],
  ['epilog', null, 'required', R, 'per-job prolog/epilog programs are not allowed (and are srun options, not sbatch ones)'],

  // Real sbatch 22.05 options that Archipelago does not carry into JobSpec.
  ['acctg-freq', null, 'required', U],
  ['batch', null, 'required', U],
  ['bb', null, 'required', R, BURST_BUFFER],
  ['bbf', null, 'required', R, BURST_BUFFER],
  ['context', null, 'required', U],
  ['contiguous', null, 'none', U],
  ['core-spec', 'S', 'required', U],
  ['cores-per-socket', null, 'required', U],
  ['cpu-freq', null, 'required', U],
  ['cpus-per-gpu', null, 'required', U],
  ['deadline', null, 'required', U],
  ['delay-boot', null, 'required', U],
  ['distribution', 'm', 'required', U],
  ['exclude', 'x', 'required', U],
  ['extra-node-info', 'B', 'required', U],
  ['gpu-bind', null, 'required', U],
  ['gpu-freq', null, 'required', U],
  ['gpus-per-socket', null, 'required', U],
  ['gres-flags', null, 'required', U],
  ['hint', null, 'required', U],
  ['kill-on-invalid-dep', null, 'required', U],
  ['mcs-label', null, 'required', U],
  ['mem-bind', null, 'required', U],
  ['mincpus', null, 'required', U],
  ['network', null, 'required', U],
  ['no-kill', 'k', 'optional', U],
  ['nodefile', 'F', 'required', U],
  ['nodelist', 'w', 'required', U],
  ['ntasks-per-core', null, 'required', U],
  ['ntasks-per-gpu', null, 'required', U],
  ['ntasks-per-socket', null, 'required', U],
  ['ntasks-per-tres', null, 'required', U],
  ['overcommit', 'O', 'none', U],
  ['oversubscribe', 's', 'none', U],
  ['power', null, 'required', U],
  ['prefer', null, 'required', U],
  ['priority', null, 'required', U],
  ['profile', null, 'required', U],
  ['propagate', null, 'optional', U],
  ['reboot', null, 'none', U],
  ['sockets-per-node', null, 'required', U],
  ['spread-job', null, 'none', U],
  ['thread-spec', null, 'required', U],
  ['tmp', null, 'required', U],
  ['use-min-nodes', null, 'none', U],
  ['wait-all-nodes', null, 'required', U],
  ['wckey', null, 'required', U],
];

/** Aliases: the long name on the left behaves exactly like the canonical one. */
const ALIASES: Record<string, string> = {
  'tasks-per-node': 'ntasks-per-node',
};

function build(): OptionDef[] {
  const defs: OptionDef[] = ROWS.map(([name, short, arg, status, reason]) => {
    const def: OptionDef = { name, canonical: name, arg, status: status ?? 'supported' };
    if (short !== null) def.short = short;
    if (reason !== undefined) def.reason = reason;
    return def;
  });
  for (const [alias, canonical] of Object.entries(ALIASES)) {
    const target = defs.find((d) => d.name === canonical);
    if (!target) throw new Error(`alias ${alias} points at unknown option ${canonical}`);
    defs.push({ ...target, name: alias, short: undefined, canonical });
  }
  return defs;
}

export const OPTION_DEFS: readonly OptionDef[] = build();

const BY_NAME = new Map(OPTION_DEFS.map((d) => [d.name, d]));
const BY_SHORT = new Map(OPTION_DEFS.filter((d) => d.short !== undefined).map((d) => [d.short as string, d]));

export function findExact(name: string): OptionDef | undefined {
  return BY_NAME.get(name);
}

export function findShort(letter: string): OptionDef | undefined {
  return BY_SHORT.get(letter);
}

export type LongLookup = { kind: 'found'; def: OptionDef } | { kind: 'ambiguous'; candidates: string[] } | { kind: 'unknown' };

/**
 * getopt_long's lookup: an exact name wins; otherwise a unique prefix; several prefixes are
 * ambiguous unless they all denote the same option (aliases).
 */
export function lookupLong(name: string): LongLookup {
  const exact = BY_NAME.get(name);
  if (exact) return { kind: 'found', def: exact };
  if (name === '') return { kind: 'unknown' };
  const matches = OPTION_DEFS.filter((d) => d.name.startsWith(name));
  if (matches.length === 0) return { kind: 'unknown' };
  const canonicals = new Set(matches.map((d) => d.canonical));
  if (canonicals.size === 1) {
    return { kind: 'found', def: BY_NAME.get(matches[0].canonical) ?? matches[0] };
  }
  return { kind: 'ambiguous', candidates: matches.map((d) => d.name).sort() };
}
