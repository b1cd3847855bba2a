#!/usr/bin/env node
/**
 * archipelago: the researcher's and provider's command line. Commands mirror SLURM's so people
 * who know sbatch/squeue/scancel/sacct need to learn nothing; `--json` on every command prints the
 * API's own objects for scripts. Exit codes: see exit-codes.ts (and docs/api.md).
 */

import { parseArgs, ParseArgsConfig } from 'node:util';
import { islands, nodeAdmin, nodeJoin, nodes, sinfo } from './commands/cluster';
import { holdOrRelease, scontrol } from './commands/control';
import { login } from './commands/login';
import { output, sacct, sbatch, scancel, squeue } from './commands/jobs';
import { configPath, normalizeUrl, readConfigFile, resolveSettings } from './config';
import type { Context } from './context';
import { CliError, ExitCode, usage } from './exit-codes';

type Options = NonNullable<ParseArgsConfig['options']>;
type Values = Record<string, any>;

const COMMON: Options = {
  json: { type: 'boolean' },
  url: { type: 'string' },
  help: { type: 'boolean' },
};

const SELECT: Options = {
  user: { type: 'string', short: 'u' },
  me: { type: 'boolean' },
  name: { type: 'string', short: 'n' },
  partition: { type: 'string', short: 'p' },
  island: { type: 'string' },
};

interface Command {
  usage: string;
  options: Options;
  run(context: Context, values: Values, positionals: string[]): Promise<number>;
}

/** `node drain|resume|remove`: provider and platform admins' node management (scontrol update nodename=…). */
const NODE_ADMIN: Command = {
  usage: 'node drain NODE... --reason TEXT | node resume NODE... | node remove NODE... [--json]',
  options: { reason: { type: 'string' } },
  run: (context, values, [action, ...refs]) => nodeAdmin(context, action as 'drain' | 'resume' | 'remove', values, refs),
};

const COMMANDS: Record<string, Command> = {
  squeue: {
    usage: 'squeue [-u USER] [--me] [-t STATES|all] [-n NAME] [-j IDS] [-p PARTITION] [--island I] [-r] [-h] [--json]',
    options: {
      ...SELECT,
      states: { type: 'string', short: 't' },
      jobs: { type: 'string', short: 'j' },
      array: { type: 'boolean', short: 'r' },
      noheader: { type: 'boolean', short: 'h' },
    },
    run: (context, values) => squeue(context, values),
  },
  scancel: {
    usage: 'scancel [JOBID...] [-t STATES] [-n NAME] [-u USER] [--me] [-p PARTITION] [--island I] [--json]',
    options: { ...SELECT, states: { type: 'string', short: 't' } },
    run: (context, values, positionals) => scancel(context, values, positionals),
  },
  sacct: {
    usage: 'sacct [-j IDS] [-S START] [-E END] [-s STATES] [--name NAME] [-u USER] [-X] [-n] [--json]',
    options: {
      jobs: { type: 'string', short: 'j' },
      starttime: { type: 'string', short: 'S' },
      endtime: { type: 'string', short: 'E' },
      state: { type: 'string', short: 's' },
      name: { type: 'string' },
      user: { type: 'string', short: 'u' },
      allocations: { type: 'boolean', short: 'X' },
      noheader: { type: 'boolean', short: 'n' },
    },
    run: (context, values) => sacct(context, values),
  },
  output: {
    usage: 'output JOBID [--follow|-f] [--stderr] [--task N] [--lines|-n N]',
    options: { follow: { type: 'boolean', short: 'f' }, stderr: { type: 'boolean' }, task: { type: 'string' }, lines: { type: 'string', short: 'n' } },
    run: (context, values, positionals) => output(context, values, positionals, (data) => process.stdout.write(data)),
  },
  hold: {
    usage: 'hold JOBID... [--json]',
    options: {},
    run: (context, _values, positionals) => holdOrRelease(context, 'hold', positionals),
  },
  release: {
    usage: 'release JOBID... [--json]',
    options: {},
    run: (context, _values, positionals) => holdOrRelease(context, 'release', positionals),
  },
  scontrol: {
    usage: 'scontrol show job JOBID... | hold JOBID... | release JOBID... [--json]',
    options: {},
    run: (context, _values, positionals) => scontrol(context, positionals),
  },
  sinfo: {
    usage: 'sinfo [-N] [--island I,...] [--json]',
    options: { Node: { type: 'boolean', short: 'N' }, island: { type: 'string' } },
    run: (context, values) => sinfo(context, values),
  },
  islands: { usage: 'islands [--json]', options: {}, run: (context) => islands(context) },
  nodes: { usage: 'nodes [--state STATES] [--json]', options: { state: { type: 'string' } }, run: (context, values) => nodes(context, values) },
  login: {
    usage: 'login --api-key KEY|- | --mnemonic-file FILE|- | --key-file FILE [--prefix ve] [--url URL]',
    options: { 'api-key': { type: 'string' }, 'mnemonic-file': { type: 'string' }, 'key-file': { type: 'string' }, prefix: { type: 'string' } },
    run: (context, values) =>
      login(context, { apiKey: values['api-key'], mnemonicFile: values['mnemonic-file'], keyFile: values['key-file'], prefix: values.prefix }),
  },
};

const USAGE = `usage: archipelago COMMAND [options]

  sbatch [sbatch options] [--wait] [--parsable] [script]   submit a batch script (stdin if no script; sbatch --help)
  ${COMMANDS.squeue.usage}
  ${COMMANDS.scancel.usage}
  ${COMMANDS.sacct.usage}
  ${COMMANDS.output.usage}
  ${COMMANDS.hold.usage}
  ${COMMANDS.release.usage}
  ${COMMANDS.scontrol.usage}
  ${COMMANDS.sinfo.usage}
  ${COMMANDS.islands.usage}
  ${COMMANDS.nodes.usage}
  ${NODE_ADMIN.usage}
  node join --token TOKEN --key-file FILE --state-file FILE [agent join options]
  ${COMMANDS.login.usage}

Every command takes --url URL and --json. Configuration: ~/.config/archipelago/config.json,
overridden by ARCHIPELAGO_URL and ARCHIPELAGO_API_KEY.
Exit codes: 0 ok; 1 job failed (sbatch --wait and output --follow pass on the job's own exit code);
64 usage, 65 refused by the server, 66 not found, 70 internal error, 75 unavailable (try again),
77 not logged in or not allowed.`;

/** Takes --json and --url out of an sbatch command line, whose remaining words are sbatch's. */
export function splitSbatchCommon(argv: readonly string[]): { rest: string[]; json: boolean; url?: string } {
  const rest: string[] = [];
  let json = false;
  let url: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i];
    if (word === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    if (word === '--json') json = true;
    else if (word.startsWith('--url=')) url = word.slice('--url='.length);
    else if (word === '--url') {
      if (i + 1 >= argv.length) throw usage('--url requires a value');
      url = argv[++i];
    } else rest.push(word);
  }
  return { rest, json, url };
}

function contextFor(json: boolean, url: string | undefined): Context {
  const env = process.env;
  const path = configPath(env);
  return {
    settings: resolveSettings(readConfigFile(path), env, path, url),
    json,
    env,
    out: (text) => process.stdout.write(text.endsWith('\n') || text === '' ? text : `${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
    now: () => new Date(),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  };
}

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(`${USAGE}\n`);
    return name === undefined ? ExitCode.USAGE : ExitCode.OK;
  }
  if (name === 'sbatch') {
    const { rest, json, url } = splitSbatchCommon(args);
    return sbatch(contextFor(json, url), rest);
  }
  if (name === 'node') {
    const [sub, ...agentArgs] = args;
    if (sub === 'join') {
      const { rest, url } = splitSbatchCommon(agentArgs);
      return nodeJoin(contextFor(false, url), rest);
    }
    if (sub !== 'drain' && sub !== 'resume' && sub !== 'remove')
      throw usage(`node: subcommands are join, drain, resume and remove\nusage: archipelago ${NODE_ADMIN.usage}`);
    return runCommand(`node ${sub}`, NODE_ADMIN, args);
  }
  const command = COMMANDS[name];
  if (!command) throw usage(`unknown command "${name}"\n${USAGE}`);
  return runCommand(name, command, args);
}

async function runCommand(name: string, command: Command, args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { ...COMMON, ...command.options }, allowPositionals: true, strict: true });
  } catch (error) {
    throw usage(`${name}: ${(error as Error).message}\nusage: archipelago ${command.usage}`);
  }
  if (parsed.values.help) {
    process.stdout.write(`usage: archipelago ${command.usage}\n`);
    return ExitCode.OK;
  }
  const url = parsed.values.url as string | undefined;
  if (url !== undefined) normalizeUrl(url, '--url');
  return command.run(contextFor(parsed.values.json === true, url), parsed.values, parsed.positionals);
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error) => {
      if (error instanceof CliError) {
        process.stderr.write(`${error.message}\n`);
        process.exitCode = error.exitCode;
        return;
      }
      process.stderr.write(`archipelago: unexpected error: ${error instanceof Error ? error.stack : error}\n`);
      process.exitCode = ExitCode.INTERNAL;
    },
  );
}
