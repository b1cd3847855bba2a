/**
 * Reading `#SBATCH` directives out of a batch script, reproducing sbatch 22.05 (src/sbatch/opt.c
 * and sbatch.c) closely, because the sbatch adapter hands the same script to the real sbatch:
 * whatever sbatch would honour, this parser must see too, or a refused option could slip through.
 *
 *  - The script must be non-empty, not only whitespace, start with `#!`, contain no NUL byte and
 *    no DOS line break (sbatch refuses all of these before looking at directives).
 *  - Lines are split on `\n` only. A directive is a line that begins, at column 0 and
 *    case-sensitively, with `#SBATCH` (or the legacy `#SLURM`, which sbatch still honours).
 *    Scanning stops at the first line that is neither blank nor a comment: a command.
 *  - A directive line is split into words the way sbatch's get_argument() does it: blanks
 *    separate words, '...' and "..." group, a backslash escapes the next character, and an
 *    unquoted, unescaped `#` ends the line (even inside a word: `-J a#b` is `-J a`). A word that
 *    comes out empty (`""`) also ends the line, as in sbatch.
 *  - The words of ALL directive lines form one argv, parsed by getopt_long with "+" semantics: so
 *    `#SBATCH --job-name` followed by `#SBATCH foo` names the job "foo", and a word that is not an
 *    option ends option processing, which sbatch reports as an invalid directive.
 */

import { SbatchParseError, show } from './sbatch-error';
import { lookupLong, findShort, type OptionDef } from './sbatch-options';

/** sbatch's default MaxScriptSize (SchedulerParameters=max_script_size) is 4 MiB. */
export const MAX_SCRIPT_BYTES = 4 * 1024 * 1024;

/** C isspace() in the "C" locale. */
function isCSpace(ch: string | undefined): boolean {
  return ch === ' ' || ch === '\t' || ch === '\n' || ch === '\v' || ch === '\f' || ch === '\r';
}

/** The script-wide checks sbatch makes before reading any directive. */
export function checkScriptBody(script: unknown): asserts script is string {
  if (typeof script !== 'string') throw new SbatchParseError('script', 'the batch script must be a string');
  if (script.length === 0) throw new SbatchParseError('script', 'the batch script is empty');
  if (/^[ \t\n\v\f\r]*$/.test(script)) {
    throw new SbatchParseError('script', 'the batch script contains only whitespace');
  }
  if (Buffer.byteLength(script, 'utf8') > MAX_SCRIPT_BYTES) {
    throw new SbatchParseError('script', `the batch script is larger than ${MAX_SCRIPT_BYTES} bytes`);
  }
  const firstLine = script.slice(0, script.indexOf('\n') === -1 ? undefined : script.indexOf('\n'));
  // sbatch checks only the two characters; requiring an interpreter after them as well catches
  // "#!" alone, which sbatch would accept and the node would then fail to execute.
  if (!firstLine.startsWith('#!') || firstLine.slice(2).trim() === '') {
    throw new SbatchParseError(
      'script:line 1',
      'sbatch refuses this: the first line must start with #! followed by the path to an interpreter, e.g. #!/bin/bash',
    );
  }
  const nul = script.indexOf('\u0000');
  if (nul !== -1) {
    throw new SbatchParseError(`script:line ${lineOf(script, nul)}`, 'the batch script contains a NUL character, which the SLURM controller does not allow');
  }
  const crlf = script.indexOf('\r\n');
  if (crlf !== -1) {
    throw new SbatchParseError(
      `script:line ${lineOf(script, crlf)}`,
      'the batch script contains DOS line breaks (\\r\\n) instead of UNIX ones (\\n); sbatch refuses it',
    );
  }
}

function lineOf(text: string, index: number): number {
  let line = 1;
  for (let i = 0; i < index; i++) if (text[i] === '\n') line++;
  return line;
}

export interface ScriptWord {
  text: string;
  line: number;
}

const MAGIC_WORDS = ['#SBATCH', '#SLURM'] as const;
const HETJOB_WORD = /^(?:hetjob|packjob)$/i;
/** Why, and what to write instead. */
const HETJOB_REFUSAL =
  'heterogeneous jobs are not supported yet (their components are separate SLURM jobs Archipelago cannot follow as one); ' +
  'ask for the largest component on every node, or submit each component as its own job (--dependency=after:<id> starts one once the other has)';

/** Every word of every directive line, in order, up to the first command line. */
export function directiveWords(script: string): ScriptWord[] {
  const words: ScriptWord[] = [];
  const lines = script.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index];
    const lineNo = index + 1;
    const magic = MAGIC_WORDS.find((m) => line.startsWith(m));
    if (magic === undefined) {
      let i = 0;
      while (i < line.length && isCSpace(line[i])) i++;
      if (i < line.length && line[i] !== '#') break; // a command: directives end here
      continue;
    }
    for (const text of splitDirectiveLine(line.slice(magic.length), lineNo)) {
      words.push({ text, line: lineNo });
    }
  }
  return words;
}

function splitDirectiveLine(rest: string, lineNo: number): string[] {
  const field = `script:line ${lineNo}`;
  const out: string[] = [];
  let pos = 0;
  for (;;) {
    while (pos < rest.length && isCSpace(rest[pos])) pos++;
    if (pos >= rest.length) return out;
    // A lone `:` separates heterogeneous job components on sbatch's command line.
    if (rest[pos] === ':') {
      throw new SbatchParseError(field, `unexpected ":" (heterogeneous job separator); ${HETJOB_REFUSAL}`);
    }
    let word = '';
    let copied = false;
    let quote: string | null = null;
    let escaped = false;
    let comment = false;
    while (pos < rest.length && (quote !== null || !isCSpace(rest[pos]))) {
      const ch = rest[pos];
      if (escaped) {
        escaped = false;
      } else if (ch === '\\') {
        escaped = true;
        pos++;
        continue;
      } else if (quote !== null) {
        if (ch === quote) {
          quote = null;
          pos++;
          continue;
        }
      } else if (ch === '"' || ch === "'") {
        quote = ch;
        pos++;
        continue;
      } else if (ch === '#') {
        comment = true;
        break;
      }
      word += ch;
      copied = true;
      pos++;
    }
    if (quote !== null) throw new SbatchParseError(field, `unmatched ${quote} in directive`);
    if (!copied) return out; // sbatch stops reading the line at an empty word
    if (HETJOB_WORD.test(word)) {
      throw new SbatchParseError(field, `"${word}" starts a heterogeneous job component; ${HETJOB_REFUSAL}`);
    }
    out.push(word);
    if (comment) return out;
  }
}

/** One option as getopt returned it. `value` is undefined for flags and bare optional options. */
export interface Occurrence {
  def: OptionDef;
  value: string | undefined;
  /** REST only: `false` for a flag, meaning "undo" (e.g. requeue: false). */
  negate?: boolean;
  field: string;
}

/** Refuse an option Archipelago does not accept; shared with the REST options path. */
export function assertAccepted(def: OptionDef, field: string): void {
  if (def.status === 'refused') {
    throw new SbatchParseError(field, `not allowed: ${def.reason ?? 'refused by Archipelago'}`, `--${def.canonical}`);
  }
  if (def.status === 'unsupported') {
    throw new SbatchParseError(field, 'this sbatch option is not supported by Archipelago (it would otherwise be silently ignored)', `--${def.canonical}`);
  }
}

/** getopt_long over the directive words, with sbatch's "+" (stop at first non-option). */
export function getoptDirectives(words: ScriptWord[]): Occurrence[] {
  const { occurrences, operandsFrom } = getoptLong(
    words.map((w) => w.text),
    (index) => `script:line ${words[index].line}`,
  );
  if (operandsFrom < words.length) throw invalidDirective(words[operandsFrom]);
  return occurrences;
}

/**
 * getopt_long with "+" semantics over any argv (directive words or a command line): options until
 * `--` or the first word that is not an option. `operandsFrom` is the index of that first operand.
 * `accept` decides which options may appear at all (the command line allows a few client-side ones).
 */
export function getoptLong(
  words: readonly string[],
  fieldOf: (index: number) => string,
  accept: (def: OptionDef, field: string) => void = assertAccepted,
): { occurrences: Occurrence[]; operandsFrom: number } {
  const out: Occurrence[] = [];
  let i = 0;
  for (; i < words.length; i++) {
    const field = fieldOf(i);
    const text = words[i];
    if (text === '--') {
      i++;
      break;
    }
    if (text.startsWith('--')) {
      const body = text.slice(2);
      const eq = body.indexOf('=');
      const name = eq === -1 ? body : body.slice(0, eq);
      const inline = eq === -1 ? undefined : body.slice(eq + 1);
      const found = lookupLong(name);
      if (found.kind === 'unknown') {
        throw new SbatchParseError(field, `unrecognized option ${show('--' + name)}`, `--${name}`);
      }
      if (found.kind === 'ambiguous') {
        throw new SbatchParseError(
          field,
          `option ${show('--' + name)} is ambiguous; possibilities: ${found.candidates.map((c) => '--' + c).join(' ')}`,
          `--${name}`,
        );
      }
      const def = found.def;
      accept(def, field);
      if (def.arg === 'none') {
        if (inline !== undefined) throw new SbatchParseError(field, 'this option does not take a value', `--${def.canonical}`);
        out.push({ def, value: undefined, field });
      } else if (def.arg === 'optional') {
        out.push({ def, value: inline, field });
      } else if (inline !== undefined) {
        out.push({ def, value: inline, field });
      } else {
        if (i + 1 >= words.length) throw new SbatchParseError(field, 'this option requires a value', `--${def.canonical}`);
        i++;
        out.push({ def, value: words[i], field });
      }
      continue;
    }
    if (text.length > 1 && text.startsWith('-')) {
      for (let j = 1; j < text.length; j++) {
        const letter = text[j];
        const def = findShort(letter);
        if (def === undefined) throw new SbatchParseError(field, `invalid option ${show('-' + letter)}`, `-${letter}`);
        accept(def, field);
        if (def.arg === 'none') {
          out.push({ def, value: undefined, field });
          continue;
        }
        const rest = text.slice(j + 1);
        if (rest !== '' || def.arg === 'optional') {
          out.push({ def, value: rest === '' ? undefined : rest, field });
        } else {
          if (i + 1 >= words.length) throw new SbatchParseError(field, 'this option requires a value', `--${def.canonical}`);
          i++;
          out.push({ def, value: words[i], field });
        }
        break;
      }
      continue;
    }
    break;
  }
  return { occurrences: out, operandsFrom: i };
}

function invalidDirective(word: ScriptWord): SbatchParseError {
  return new SbatchParseError(
    `script:line ${word.line}`,
    `invalid directive ${show(word.text)}: not an option (sbatch stops reading options here and refuses the script)`,
  );
}
