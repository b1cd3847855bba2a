/**
 * Parsers for the smaller option values. Each takes the raw text and returns the normalized
 * value or throws InvalidValue; none knows where the value came from.
 */

import type { ExportSpec, JobSpec } from './job-spec';
import { InvalidValue, show } from './sbatch-error';

export const LIMITS = {
  nodes: 100_000,
  ntasks: 1_000_000,
  /** job_desc_msg_t.ntasks_per_node is a uint16 whose top values are sentinels. */
  ntasksPerNode: 65_533,
  cpusPerTask: 4096,
  threadsPerCore: 64,
  gpus: 1_000_000,
  /** slurm.h NICE_OFFSET - 3. */
  nice: 2_147_483_645,
  /** Default and maximum lengths for free text. */
  text: 1024,
  comment: 4096,
  path: 4096,
} as const;

/** Any C0 control character or DEL: newlines, NUL, tabs, escape sequences. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

export function rejectControlCharacters(value: string): void {
  if (CONTROL.test(value)) {
    throw new InvalidValue('value contains a control character (newline, NUL, tab, ...), which is not allowed');
  }
}

/** A strictly positive decimal integer, no sign, no unit, at most `max`. */
export function parsePositiveInt(text: string, max: number): number {
  const value = text.trim();
  if (!/^\d{1,10}$/.test(value)) throw new InvalidValue(`expects a positive integer, got ${show(value)}`);
  const n = Number(value);
  if (n < 1) throw new InvalidValue(`expects a positive integer, got ${show(value)}`);
  if (n > max) throw new InvalidValue(`${n} exceeds the maximum of ${max}`);
  return n;
}

/**
 * `-N`: `count` (exactly that many nodes, returned as `{ min }`) or `min-max`, each optionally
 * with SLURM's k/m multipliers (x1024, x1048576). sbatch also takes `min-` (open upper bound);
 * that is refused here so that `{ min }` alone always means "exactly min nodes". Zero nodes are
 * refused: SLURM only allows them for burst-buffer-only jobs, which Archipelago does not run.
 */
export function parseNodes(text: string): NonNullable<JobSpec['nodes']> {
  const value = text.trim();
  const m = /^(\d{1,7}[kKmM]?)(?:-(\d{1,7}[kKmM]?))?$/.exec(value);
  if (!m) throw new InvalidValue(`invalid node count ${show(value)}: expects N or MIN-MAX`);
  const count = (s: string): number => {
    const unit = s.slice(-1).toLowerCase();
    if (unit === 'k') return Number(s.slice(0, -1)) * 1024;
    if (unit === 'm') return Number(s.slice(0, -1)) * 1024 * 1024;
    return Number(s);
  };
  const min = count(m[1]);
  if (min < 1) throw new InvalidValue(`invalid node count ${show(value)}: at least 1 node is required`);
  if (min > LIMITS.nodes) throw new InvalidValue(`${min} nodes exceeds the maximum of ${LIMITS.nodes}`);
  if (m[2] === undefined) return { min };
  const max = count(m[2]);
  if (max > LIMITS.nodes) throw new InvalidValue(`${max} nodes exceeds the maximum of ${LIMITS.nodes}`);
  if (max < min) {
    throw new InvalidValue(`maximum node count ${max} is less than minimum node count ${min}`);
  }
  return { min, max };
}

/** `--nice[=N]`: no value means 100, as in sbatch; negative values need privileges SLURM checks. */
export function parseNice(text: string | undefined): number {
  if (text === undefined) return 100;
  const value = text.trim();
  if (!/^[+-]?\d{1,10}$/.test(value)) throw new InvalidValue(`expects an integer, got ${show(value)}`);
  const n = Number(value);
  if (Math.abs(n) > LIMITS.nice) throw new InvalidValue(`nice value out of range (+/- ${LIMITS.nice})`);
  return n === 0 ? 0 : n; // no -0
}

/** `--exclusive[=user|mcs|exclusive]`, case-insensitive like SLURM. */
export function parseExclusive(text: string | undefined): NonNullable<JobSpec['exclusive']> {
  if (text === undefined) return 'exclusive';
  const value = text.trim().toLowerCase();
  if (value === 'exclusive' || value === 'user' || value === 'mcs') return value;
  if (value === 'oversubscribe') {
    throw new InvalidValue('--exclusive=oversubscribe (sharing nodes) is not supported');
  }
  throw new InvalidValue(`invalid --exclusive value ${show(text)}: expects user or mcs, or no value`);
}

/** `--open-mode`: SLURM looks only at the first letter; accept any prefix of the two words. */
export function parseOpenMode(text: string): NonNullable<JobSpec['openMode']> {
  const value = text.trim().toLowerCase();
  if (value !== '' && 'append'.startsWith(value)) return 'append';
  if (value !== '' && 'truncate'.startsWith(value)) return 'truncate';
  throw new InvalidValue(`invalid --open-mode ${show(text)}: expects append or truncate`);
}

export const MAIL_TYPES = [
  'NONE',
  'BEGIN',
  'END',
  'FAIL',
  'REQUEUE',
  'ALL',
  'INVALID_DEPEND',
  'STAGE_OUT',
  'TIME_LIMIT',
  'TIME_LIMIT_90',
  'TIME_LIMIT_80',
  'TIME_LIMIT_50',
  'ARRAY_TASKS',
] as const;
const MAIL_TYPE_SET: ReadonlySet<string> = new Set(MAIL_TYPES);

/**
 * `--mail-type` list, uppercased. Stricter than SLURM, which ignores unknown words as long as one
 * is valid: a misspelt `FIAL` would silently send no failure mail. A word with blanks around it
 * (`"END, FAIL"`, quoted in a directive) is what sbatch 22.05 compares as is, matches nothing and
 * drops: `END, FAIL` means END only, `END ,FAIL` FAIL only. Kept, so a job mails as it would
 * under sbatch; a list left with no word at all is refused, as sbatch refuses it.
 */
export function parseMailTypes(text: string): string[] {
  const out: string[] = [];
  let dropped = 0;
  for (const raw of text.split(',')) {
    const w = raw.trim().toUpperCase();
    if (w === '') throw new InvalidValue(`empty entry in mail type list ${show(text)}`);
    if (!MAIL_TYPE_SET.has(w)) {
      throw new InvalidValue(`unknown mail type ${show(w)}: expects ${MAIL_TYPES.join(', ')}`);
    }
    if (raw !== raw.trim()) {
      dropped++;
      continue;
    }
    if (!out.includes(w)) out.push(w);
  }
  if (out.length === 0 && dropped > 0) {
    throw new InvalidValue(
      `no mail type in ${show(text)}: sbatch ignores words with blanks around them; write ${show(
        text
          .split(',')
          .map((w) => w.trim())
          .join(','),
      )}`,
    );
  }
  return out;
}

const SIGNAL_NAMES = new Set(['HUP', 'INT', 'QUIT', 'ABRT', 'KILL', 'ALRM', 'TERM', 'USR1', 'USR2', 'URG', 'CONT', 'STOP', 'TSTP', 'TTIN', 'TTOU', 'XCPU']);

/**
 * `--signal=[{R|B}:]<sig_num>[@sig_time]` (also `BR:`/`RB:`): signal by number (1-64) or name
 * (with or without SIG, any case, SLURM's list), time 0-65535 seconds. Kept as written.
 */
export function parseSignal(text: string): string {
  const value = text.trim();
  const m = /^(?:([RB]|BR|RB):)?([A-Za-z0-9]+)(?:@(\d{1,5}))?$/i.exec(value);
  if (!m) throw new InvalidValue(`invalid --signal ${show(value)}: expects [B:]SIGNAL[@SECONDS]`);
  const sig = m[2];
  if (/^\d+$/.test(sig)) {
    const n = Number(sig);
    if (n < 1 || n > 64) throw new InvalidValue(`signal number ${n} out of range (1-64)`);
  } else {
    const name = sig.toUpperCase().replace(/^SIG/, '');
    if (!SIGNAL_NAMES.has(name)) throw new InvalidValue(`unknown signal ${show(sig)}`);
  }
  if (m[3] !== undefined && Number(m[3]) > 65535) {
    throw new InvalidValue(`signal time ${m[3]} out of range (0-65535 seconds)`);
  }
  return value;
}

const BEGIN_UNITS = '(?:seconds?|minutes?|hours?|days?|weeks?)';
const CLOCK = '(?:[01]?\\d|2[0-3]):[0-5]\\d(?::[0-5]\\d)?(?:[AaPp][Mm])?';
const MONTH_DAY = '(?:0?[1-9]|1[0-2])';
const DAY = '(?:0?[1-9]|[12]\\d|3[01])';
const BEGIN_FORMS: RegExp[] = [
  new RegExp(`^now(?:[+-]\\d{1,9}${BEGIN_UNITS}?)?$`, 'i'),
  /^(?:today|tomorrow|midnight|noon|fika|teatime)$/i,
  new RegExp(`^${CLOCK}$`),
  new RegExp(`^\\d{4}-${MONTH_DAY}-${DAY}(?:T${CLOCK})?$`),
  new RegExp(`^${MONTH_DAY}/${DAY}(?:/\\d{2})?(?:T${CLOCK})?$`),
  new RegExp(`^${MONTH_DAY}\\.${DAY}(?:\\.\\d{2})?(?:T${CLOCK})?$`),
  new RegExp(`^(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\\d|3[01])\\d{2}(?:T${CLOCK})?$`),
];

/**
 * `--begin`: checked against the forms SLURM's parse_time() documents (now+N[units], keywords,
 * HH:MM[:SS][AM|PM], YYYY-MM-DD[THH:MM[:SS]], MM/DD[/YY], MM.DD[.YY], MMDDYY) and kept as
 * written; slurmctld remains the judge of the instant it denotes.
 */
export function parseBegin(text: string): string {
  const value = text.trim();
  if (!BEGIN_FORMS.some((re) => re.test(value))) {
    throw new InvalidValue(`invalid --begin time ${show(value)}: expects e.g. now+1hour, 16:00, 2026-12-01T10:00 or tomorrow`);
  }
  return value;
}

/**
 * `--export`: ALL, NONE, NIL, or a comma list of NAME / NAME=value, optionally containing ALL
 * (inherit everything else too) or led by NONE/NIL. A list without ALL exports only what it
 * names, as sbatch does. Splitting honours quotes the way SLURM's find_quote_token() does: a
 * comma inside quotes does not split, and quotes around a whole entry are removed.
 */
export function parseExport(text: string): ExportSpec {
  const value = text.trim();
  if (value === '') throw new InvalidValue('expects ALL, NONE, NIL or a list of variables, got an empty value');
  const upper = value.toUpperCase();
  if (upper === 'ALL' || upper === 'NONE' || upper === 'NIL') return { mode: upper, variables: {} };

  const tokens = splitQuoted(value);
  let mode: ExportSpec['mode'] | undefined;
  const variables: Record<string, string | null> = Object.create(null) as Record<string, string | null>;
  tokens.forEach((token, index) => {
    const keyword = token.toUpperCase();
    if ((keyword === 'NONE' || keyword === 'NIL') && index > 0) {
      // sbatch would look up a variable literally named NONE; that is never what was meant.
      throw new InvalidValue(`${keyword} may only lead an --export list`);
    }
    if (keyword === 'ALL' || keyword === 'NONE' || keyword === 'NIL') {
      if (mode !== undefined && mode !== keyword) {
        throw new InvalidValue(`--export cannot combine ${mode} and ${keyword}`);
      }
      mode = keyword;
      return;
    }
    const eq = token.indexOf('=');
    const name = eq === -1 ? token : token.slice(0, eq);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw new InvalidValue(`invalid environment variable name ${show(name)} in --export`);
    }
    variables[name] = eq === -1 ? null : token.slice(eq + 1);
  });
  if (mode === undefined) mode = 'NONE';
  return { mode, variables: { ...variables } };
}

function splitQuoted(value: string): string[] {
  const tokens: string[] = [];
  let start = 0;
  let quote: string | null = null;
  for (let i = 0; i <= value.length; i++) {
    const ch = value[i];
    if (quote !== null) {
      if (ch === quote) quote = null;
      else if (ch === undefined) throw new InvalidValue(`unmatched ${quote} in --export ${show(value)}`);
      continue;
    }
    if (ch === '"' || ch === "'") {
      quote = ch;
      continue;
    }
    if (ch === ',' || ch === undefined) {
      let token = value.slice(start, i);
      if (token.length >= 2 && (token[0] === '"' || token[0] === "'") && token[token.length - 1] === token[0]) {
        token = token.slice(1, -1);
      }
      if (token === '') throw new InvalidValue(`empty entry in --export ${show(value)}`);
      tokens.push(token);
      start = i + 1;
    }
  }
  return tokens;
}

/** `--gpus`, `--gpus-per-node`, `--gpus-per-task`: `[type:]count`, comma-separated. */
export function parseGpuCount(text: string): string {
  const value = text.trim();
  const parts = value.split(',');
  for (const part of parts) {
    const m = /^(?:([A-Za-z0-9_.-]+):)?(\d{1,7})$/.exec(part);
    if (!m || Number(m[2]) < 1 || Number(m[2]) > LIMITS.gpus) {
      throw new InvalidValue(`invalid GPU request ${show(part)}: expects [type:]count with count >= 1`);
    }
  }
  return value;
}

/**
 * Free text and names: not blank, no control characters (checked by the caller), bounded
 * length. `spaces` says whether inner blanks are allowed
 * (job names and comments yes; partitions, accounts, GRES strings no).
 */
export function parseText(text: string, opts: { spaces: boolean; max: number; what: string }): string {
  // Kept exactly as written (a job name or path is not ours to rewrite), only checked.
  if (text.trim() === '') throw new InvalidValue(`expects ${opts.what}, got an empty value`);
  if (!opts.spaces && /\s/.test(text)) throw new InvalidValue(`${opts.what} must not contain spaces, got ${show(text)}`);
  if (text.length > opts.max) throw new InvalidValue(`${opts.what} is longer than ${opts.max} characters`);
  return text;
}
