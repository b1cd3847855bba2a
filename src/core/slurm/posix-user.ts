/**
 * Which POSIX user names the adapters will act as. Every call runs as a named person; these names
 * are never acceptable, whatever the caller says: a token or SSH session for them would be a
 * credential for the whole cluster.
 */
export const FORBIDDEN_SLURM_USERS: ReadonlySet<string> = new Set(['root', 'slurm']);

/**
 * Accounts that belong to a service, never to a tenant: SLURM's and munge's daemons, Archipelago's
 * own read account, the database and cache, `nobody`. Each island may name more (`deniedUsers`) and
 * its read account is added; accounts below the island's minimum uid are refused too.
 */
export const SERVICE_ACCOUNTS: ReadonlySet<string> = new Set([
  ...FORBIDDEN_SLURM_USERS,
  'slurmdbd',
  'slurmrest',
  'slurmrestd',
  'munge',
  'archipelago',
  'nobody',
  'nfsnobody',
  'postgres',
  'redis',
  'sshd',
]);

/** Portable POSIX user name (letters, digits, `.`, `_`, `-`; not starting with `-` or `.`), at most 32 chars. */
const POSIX_USER = /^[A-Za-z_][A-Za-z0-9._-]{0,31}$/;

export function isPosixUserName(name: unknown): name is string {
  return typeof name === 'string' && POSIX_USER.test(name);
}

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

/** An account as the island's user database knows it. */
export interface PosixAccount {
  name: string;
  uid: number;
  gid: number;
}

/** Who may be a tenant on one island: nobody below `minUid`, nobody named in `deniedUsers`. */
export interface TenantAccountPolicy {
  minUid: number;
  deniedUsers: ReadonlySet<string>;
}

/** Why a tenant cannot run as `user` on an island; `rule` names the rule for the caller. */
export type TenantAccountRefusal = { rule: 'service-account'; reason: string } | { rule: 'min-uid'; reason: string } | { rule: 'no-account'; reason: string };

/** Refused by name alone, before any island is asked. */
export function serviceAccountRefusal(user: string, deniedUsers: ReadonlySet<string>): TenantAccountRefusal | null {
  if (SERVICE_ACCOUNTS.has(user) || deniedUsers.has(user)) {
    return { rule: 'service-account', reason: `"${user}" is a service account, never a tenant's` };
  }
  return null;
}

/**
 * The verdict on running a tenant's jobs as `user` on `island`, given what the island's user
 * database says (`account`, null when there is no such account). Null: allowed.
 */
export function tenantAccountRefusal(island: string, user: string, account: PosixAccount | null, policy: TenantAccountPolicy): TenantAccountRefusal | null {
  const byName = serviceAccountRefusal(user, policy.deniedUsers);
  if (byName) return byName;
  if (!account) return { rule: 'no-account', reason: `the POSIX account "${user}" does not exist on island ${island}` };
  if (account.uid < policy.minUid) {
    return {
      rule: 'min-uid',
      reason: `"${user}" has uid ${account.uid} on island ${island}, below its minimum uid ${policy.minUid} for tenants (system accounts)`,
    };
  }
  return null;
}

/** One `getent passwd` line (`name:x:uid:gid:gecos:home:shell`), or null when it is not one. */
export function parsePasswdLine(line: string): PosixAccount | null {
  const fields = line.trim().split(':');
  if (fields.length < 7 || !/^\d+$/.test(fields[2]) || !/^\d+$/.test(fields[3])) return null;
  return { name: fields[0], uid: Number(fields[2]), gid: Number(fields[3]) };
}
