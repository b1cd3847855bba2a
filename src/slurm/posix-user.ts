/**
 * Which POSIX user names the adapters will act as. Every call runs as a named person; these names
 * are never acceptable, whatever the caller says: a token or SSH session for them would be a
 * credential for the whole cluster.
 */
export const FORBIDDEN_SLURM_USERS: ReadonlySet<string> = new Set(['root', 'slurm']);

/** Portable POSIX user name (letters, digits, `.`, `_`, `-`; not starting with `-` or `.`), at most 32 chars. */
const POSIX_USER = /^[A-Za-z_][A-Za-z0-9._-]{0,31}$/;

export class InvalidSlurmUserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidSlurmUserError';
  }
}

/** Throws InvalidSlurmUserError unless `user` is a valid, non-privileged POSIX user name. */
export function assertActingUser(user: unknown, extraForbidden: Iterable<string> = []): asserts user is string {
  if (typeof user !== 'string' || user === '') throw new InvalidSlurmUserError('SLURM user name is empty');
  if (!POSIX_USER.test(user)) throw new InvalidSlurmUserError(`invalid POSIX user name ${JSON.stringify(user)}`);
  const forbidden = new Set([...FORBIDDEN_SLURM_USERS, ...extraForbidden]);
  if (forbidden.has(user)) throw new InvalidSlurmUserError(`refusing to act as privileged user "${user}"`);
}
