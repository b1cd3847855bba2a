/**
 * `archipelago sbatch [options] [script [args]]`: the command line read the way sbatch reads it,
 * turned into the REST body's `options`. Pure: no I/O.
 *
 * The same getopt table as the server's directive parser is used, so abbreviations, short-option
 * clusters (`-N2`), `--opt=value` and `+` semantics (options end at the script's path) match sbatch
 * exactly. Command-line options beat `#SBATCH` lines because the server applies `options` after the
 * directives. Within the command line a repeated option keeps its last value, as sbatch does,
 * except --mail-type, which sbatch accumulates.
 */

import { SbatchParseError } from '../../core/sbatch/sbatch-error';
import type { OptionDef } from '../../core/sbatch/sbatch-options';
import { assertAccepted, getoptLong } from '../../core/sbatch/script-directives';

/**
 * sbatch options that only change how the client behaves (the server refuses them, the CLI
 * honours them), and --wrap, which the server takes as `options.wrap` but never inside a script.
 */
const CLIENT_SIDE = new Set(['wait', 'parsable', 'help', 'wrap']);

export interface SbatchInvocation {
  /** Long option names without dashes, in the order their last occurrence appeared. */
  options: Record<string, string | boolean>;
  /** The script's path; undefined means "read it from standard input", as sbatch does. */
  scriptPath?: string;
  /** Block until the job ends (sbatch -W/--wait). */
  wait: boolean;
  /** Print only the job id (sbatch --parsable). */
  parsable: boolean;
  /** sbatch -h/--help: print usage, submit nothing. */
  help: boolean;
}

function acceptOnCommandLine(def: OptionDef, field: string): void {
  if (!CLIENT_SIDE.has(def.canonical)) assertAccepted(def, field);
}

export function parseSbatchArgs(argv: readonly string[]): SbatchInvocation {
  const { occurrences, operandsFrom } = getoptLong(argv, () => 'command line', acceptOnCommandLine);
  const operands = argv.slice(operandsFrom);
  if (operands.length > 1) {
    throw new SbatchParseError('command line', `arguments after the script (${operands.slice(1).join(' ')}) are not supported: put them in the script`);
  }
  const invocation: SbatchInvocation = { options: {}, wait: false, parsable: false, help: false };
  if (operands.length === 1 && operands[0] !== '-') invocation.scriptPath = operands[0];
  if (operands.length === 1 && occurrences.some((o) => o.def.canonical === 'wrap')) {
    throw new SbatchParseError('command line', 'script arguments not permitted with --wrap option', '--wrap');
  }
  for (const { def, value } of occurrences) {
    const name = def.canonical;
    if (name === 'wait') invocation.wait = true;
    else if (name === 'parsable') invocation.parsable = true;
    else if (name === 'help') invocation.help = true;
    else {
      const previous = invocation.options[name];
      delete invocation.options[name]; // re-inserted: the last occurrence decides the order too
      invocation.options[name] = name === 'mail-type' && typeof previous === 'string' && value !== undefined ? `${previous},${value}` : (value ?? true);
    }
  }
  return invocation;
}

/**
 * `--export=NAME` (no value) takes NAME from the submission environment. The CLI sends exactly
 * those variables, never the whole shell environment (which would include its own API key).
 */
export function exportedEnvironment(
  exportVariables: Record<string, string | null> | undefined,
  env: Record<string, string | undefined>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(exportVariables ?? {})) {
    if (value === null && env[name] !== undefined) out[name] = env[name] as string;
  }
  return out;
}
