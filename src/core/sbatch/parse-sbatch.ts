/**
 * parseSubmission: turn a batch script plus the REST body's `options` object into a JobSpec,
 * applying sbatch 22.05's rules. Pure: no I/O, no framework.
 *
 * Order of application mirrors sbatch: directives first, in script order, then `options` as if
 * they were command-line flags, so a later setting replaces an earlier one and `options` beat the
 * script. Two sbatch quirks are kept on purpose: `--mail-type` accumulates across occurrences
 * (sbatch ORs the flags), and setting two of --mem / --mem-per-cpu / --mem-per-gpu is an error
 * even when one comes from the script and the other from `options` (sbatch is fatal there too).
 */

import type { JobSpec, ParsedSubmission } from './job-spec';
import { parseArrayExpression } from './array-expression';
import { parseDependencyExpression } from './dependency-expression';
import { parseMemoryMb } from './memory-units';
import { InvalidValue, SbatchParseError } from './sbatch-error';
import { findExact, type OptionDef } from './sbatch-options';
import { assertAccepted, checkScriptBody, directiveWords, getoptDirectives, type Occurrence } from './script-directives';
import { parseDurationMinutes } from './time-format';
import {
  LIMITS,
  parseBegin,
  parseExclusive,
  parseExport,
  parseGpuCount,
  parseMailTypes,
  parseNice,
  parseNodes,
  parseOpenMode,
  parsePositiveInt,
  parseSignal,
  parseText,
  rejectControlCharacters,
} from './value-parsers';

import { lowerNodesToTasks } from './sbatch-derivations';

export { SbatchParseError } from './sbatch-error';

/** No single value needs more; bounds the work every regex does. */
const MAX_VALUE_LENGTH = 8192;

type MemOption = 'mem' | 'mem-per-cpu' | 'mem-per-gpu';

interface State {
  spec: JobSpec;
  /** --mail-type words seen so far (sbatch ORs them); undefined until the option appears. */
  mail?: Set<string>;
  /** Which memory options are set, and where (for the mutual-exclusion error). */
  memSetAt: Map<MemOption, string>;
  timeField?: string;
  timeMinField?: string;
}

type Handler = (st: State, value: string | undefined, negate: boolean) => void;

const required = (value: string | undefined): string => {
  // getopt guarantees a value for required options; REST conversion does too. Belt and braces.
  if (value === undefined) throw new InvalidValue('this option requires a value');
  return value;
};

const text =
  (
    key: 'jobName' | 'partition' | 'account' | 'qos' | 'reservation' | 'comment' | 'gres' | 'constraint' | 'licenses' | 'mailUser',
    what: string,
    spaces: boolean,
    max: number = LIMITS.text,
  ): Handler =>
  (st, v) => {
    st.spec[key] = parseText(required(v), { spaces, max, what });
  };

const path =
  (key: 'output' | 'error' | 'input' | 'chdir', what: string): Handler =>
  (st, v) => {
    st.spec[key] = parseText(required(v), { spaces: true, max: LIMITS.path, what });
  };

const mem =
  (key: 'memPerNodeMb' | 'memPerCpuMb' | 'memPerGpuMb', allowZero: boolean): Handler =>
  (st, v) => {
    const mb = parseMemoryMb(required(v));
    if (mb === 0 && !allowZero) throw new InvalidValue('memory size must be greater than 0');
    st.spec[key] = mb;
  };

const HANDLERS: Record<string, Handler> = {
  'job-name': text('jobName', 'a job name', true),
  partition: text('partition', 'a partition name (or comma list)', false),
  account: text('account', 'an account name', false),
  qos: text('qos', 'a QOS name', false),
  reservation: text('reservation', 'a reservation name', false),
  comment: text('comment', 'a comment', true, LIMITS.comment),
  gres: text('gres', 'a GRES specification', false),
  constraint: text('constraint', 'a constraint expression', false),
  licenses: text('licenses', 'a license list', false),
  'mail-user': text('mailUser', 'a mail address', false),

  output: path('output', 'an output file pattern'),
  error: path('error', 'an error file pattern'),
  input: path('input', 'an input file pattern'),
  chdir: path('chdir', 'a directory'),

  nodes: (st, v) => {
    st.spec.nodes = parseNodes(required(v));
  },
  ntasks: (st, v) => {
    st.spec.ntasks = parsePositiveInt(required(v), LIMITS.ntasks);
  },
  'ntasks-per-node': (st, v) => {
    st.spec.ntasksPerNode = parsePositiveInt(required(v), LIMITS.ntasksPerNode);
  },
  'cpus-per-task': (st, v) => {
    st.spec.cpusPerTask = parsePositiveInt(required(v), LIMITS.cpusPerTask);
  },
  'threads-per-core': (st, v) => {
    st.spec.threadsPerCore = parsePositiveInt(required(v), LIMITS.threadsPerCore);
  },

  mem: mem('memPerNodeMb', true),
  'mem-per-cpu': mem('memPerCpuMb', false),
  'mem-per-gpu': mem('memPerGpuMb', false),

  time: (st, v) => {
    st.spec.timeLimitMinutes = parseDurationMinutes(required(v));
  },
  'time-min': (st, v) => {
    const minutes = parseDurationMinutes(required(v));
    // SLURM would store INFINITE here, which makes no sense as a minimum; JobSpec has no null.
    if (minutes === null) throw new InvalidValue('--time-min must be a finite, non-zero duration');
    st.spec.timeMinMinutes = minutes;
  },

  gpus: (st, v) => {
    st.spec.gpus = parseGpuCount(required(v));
  },
  'gpus-per-node': (st, v) => {
    st.spec.gpusPerNode = parseGpuCount(required(v));
  },
  'gpus-per-task': (st, v) => {
    st.spec.gpusPerTask = parseGpuCount(required(v));
  },

  switches: (st, v) => {
    const m = /^(\d{1,5})(?:@(.+))?$/.exec(required(v).trim());
    if (!m) throw new InvalidValue('expects count[@max-time], e.g. 1 or 1@10:00');
    const count = parsePositiveInt(m[1], LIMITS.nodes);
    const wait = m[2] === undefined ? undefined : parseDurationMinutes(m[2]);
    if (wait === null) throw new InvalidValue('the wait for switches must be a finite duration');
    st.spec.switches = wait === undefined ? { count } : { count, waitMinutes: wait };
  },
  exclusive: (st, v, negate) => {
    if (negate) delete st.spec.exclusive;
    else st.spec.exclusive = parseExclusive(v);
  },
  array: (st, v) => {
    st.spec.array = parseArrayExpression(required(v));
  },
  dependency: (st, v) => {
    st.spec.dependency = parseDependencyExpression(required(v));
  },
  hold: (st, _v, negate) => {
    if (negate) delete st.spec.hold;
    else st.spec.hold = true;
  },
  begin: (st, v) => {
    st.spec.begin = parseBegin(required(v));
  },
  nice: (st, v, negate) => {
    if (negate) delete st.spec.nice;
    else st.spec.nice = parseNice(v);
  },
  requeue: (st, _v, negate) => {
    st.spec.requeue = !negate;
  },
  'no-requeue': (st, _v, negate) => {
    st.spec.requeue = negate;
  },
  signal: (st, v) => {
    st.spec.signal = parseSignal(required(v));
  },
  'mail-type': (st, v) => {
    const words = parseMailTypes(required(v));
    if (words.includes('NONE') && words.length > 1) {
      // sbatch stops at NONE and drops what follows; say so instead of guessing.
      throw new InvalidValue('NONE cannot be combined with other mail types');
    }
    st.mail ??= new Set();
    for (const w of words) if (w !== 'NONE') st.mail.add(w);
  },
  'open-mode': (st, v) => {
    st.spec.openMode = parseOpenMode(required(v));
  },
  export: (st, v) => {
    st.spec.export = parseExport(required(v));
  },
};

const MEM_OPTIONS: ReadonlySet<string> = new Set<MemOption>(['mem', 'mem-per-cpu', 'mem-per-gpu']);

function apply(st: State, occ: Occurrence): void {
  const option = `--${occ.def.canonical}`;
  const handler = HANDLERS[occ.def.canonical];
  if (handler === undefined) {
    // Only reachable if the table marks an option supported without a handler: a bug here.
    throw new SbatchParseError(occ.field, 'option has no handler', option);
  }
  try {
    if (occ.value !== undefined) {
      if (occ.def.arg === 'required' && occ.value === '') throw new InvalidValue('this option requires a value');
      if (occ.value.length > MAX_VALUE_LENGTH) throw new InvalidValue(`value is longer than ${MAX_VALUE_LENGTH} characters`);
      rejectControlCharacters(occ.value);
    }
    handler(st, occ.value, occ.negate === true);
  } catch (err) {
    if (err instanceof InvalidValue) throw new SbatchParseError(occ.field, err.reason, option);
    throw err;
  }
  if (MEM_OPTIONS.has(occ.def.canonical)) {
    // Re-insert so the Map's order is "most recently set last".
    st.memSetAt.delete(occ.def.canonical as MemOption);
    st.memSetAt.set(occ.def.canonical as MemOption, occ.field);
  }
  if (occ.def.canonical === 'time') st.timeField = occ.field;
  if (occ.def.canonical === 'time-min') st.timeMinField = occ.field;
}

/** The REST `options` object, turned into getopt-style occurrences in key order. */
function optionOccurrences(options: Record<string, unknown> | undefined): Occurrence[] {
  if (options === undefined) return [];
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new SbatchParseError('options', 'options must be an object mapping sbatch long option names to values');
  }
  const out: Occurrence[] = [];
  const seen = new Map<string, string>();
  for (const [key, raw] of Object.entries(options)) {
    const field = `options.${key}`;
    if (raw === undefined) continue;
    const name = key.replace(/_/g, '-');
    const def: OptionDef | undefined = findExact(name);
    if (def === undefined) {
      throw new SbatchParseError(
        field,
        `unknown sbatch option ${JSON.stringify(key)} (keys are long option names without dashes, e.g. "ntasks-per-node")`,
        `--${name}`,
      );
    }
    const option = `--${def.canonical}`;
    const previous = seen.get(def.canonical);
    if (previous !== undefined) {
      throw new SbatchParseError(field, `option given twice (also as options.${previous})`, option);
    }
    seen.set(def.canonical, key);
    assertAccepted(def, field);

    if (def.arg === 'none') {
      if (typeof raw !== 'boolean') {
        throw new SbatchParseError(field, 'this option is a flag: expects true or false', option);
      }
      out.push({ def, value: undefined, negate: !raw, field });
      continue;
    }
    if (typeof raw === 'boolean') {
      if (def.arg === 'optional') {
        out.push({ def, value: undefined, negate: !raw, field });
        continue;
      }
      throw new SbatchParseError(field, 'this option expects a value, not a boolean', option);
    }
    if (typeof raw === 'number') {
      if (!Number.isFinite(raw)) throw new SbatchParseError(field, 'expects a finite number', option);
      out.push({ def, value: String(raw), field });
      continue;
    }
    if (typeof raw === 'string') {
      out.push({ def, value: raw, field });
      continue;
    }
    throw new SbatchParseError(field, 'expects a string, number or boolean', option);
  }
  return out;
}

function finish(st: State): JobSpec {
  if (st.memSetAt.size > 1) {
    const fields = [...st.memSetAt.values()];
    throw new SbatchParseError(
      fields[fields.length - 1],
      `--mem, --mem-per-cpu and --mem-per-gpu are mutually exclusive (set: ${[...st.memSetAt.keys()].map((k) => '--' + k).join(', ')})`,
      `--${[...st.memSetAt.keys()].pop() as string}`,
    );
  }
  const { spec } = st;
  if (spec.timeMinMinutes !== undefined && typeof spec.timeLimitMinutes === 'number' && spec.timeMinMinutes > spec.timeLimitMinutes) {
    throw new SbatchParseError(
      st.timeMinField ?? st.timeField ?? 'options',
      `--time-min (${spec.timeMinMinutes} min) exceeds --time (${spec.timeLimitMinutes} min)`,
      '--time-min',
    );
  }
  if (st.mail !== undefined) spec.mailType = st.mail.size === 0 ? ['NONE'] : [...st.mail];
  return lowerNodesToTasks(spec);
}

/**
 * Parse a submission. `script` is returned unchanged (it is what will run); `options` holds the
 * REST body's sbatch options (long names without dashes, `_` accepted for `-`).
 * Throws SbatchParseError on anything sbatch would refuse, or Archipelago does not allow.
 */
export function parseSubmission(script: string, options?: Record<string, unknown>): ParsedSubmission {
  checkScriptBody(script);
  const occurrences = [...getoptDirectives(directiveWords(script)), ...optionOccurrences(options)];
  const st: State = { spec: {}, memSetAt: new Map() };
  for (const occ of occurrences) apply(st, occ);
  return { spec: finish(st), script };
}
