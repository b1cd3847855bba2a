/**
 * POSIX shell quoting for commands the SSH adapter runs through the remote user's shell.
 * Every word that carries a value goes through `shellQuote`; nothing is interpolated raw.
 */

const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * Quotes one argument for a POSIX shell (sh, bash, dash). Safe words stay as they are; anything
 * else is wrapped in single quotes, inside which the shell interprets nothing (`$()`, backticks,
 * `\`, `"`, newlines are all literal). A single quote is written as `'\''`. NUL cannot be passed
 * in an argument at all, so it is refused.
 */
export function shellQuote(value: string): string {
  if (value.includes('\0')) throw new Error('shellQuote: NUL byte in argument');
  if (value === '') return "''";
  if (SAFE_WORD.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Quotes and joins a command line. */
export function shellJoin(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ');
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Whether `name` is a valid environment variable name for `env`/sh assignments. */
export function isEnvName(name: string): boolean {
  return ENV_NAME.test(name);
}

/** `K=V` words (each quoted) for `env` or a shell assignment prefix; refuses invalid names. */
export function renderEnvAssignments(env: Record<string, string>): string[] {
  return Object.entries(env).map(([name, value]) => {
    if (!isEnvName(name)) throw new Error(`invalid environment variable name ${JSON.stringify(name)}`);
    if (typeof value !== 'string') throw new Error(`environment variable ${name} must be a string`);
    return shellQuote(`${name}=${value}`);
  });
}
