import { execFile } from 'node:child_process';
import { InvalidSlurmUserError, isPosixUserName, parsePasswdLine, type PosixAccount } from '../../core/slurm/posix-user';
import { SlurmUnavailableError } from '../../core/slurm/slurm-client.port';

/**
 * An island's user database: whom a tenant's jobs would run as there. Over SSH it is asked on the
 * login node (`getent passwd`, as the island's read account); an island whose files are read
 * locally shares this machine's accounts (LocalJobFiles already checks owners by uid here), so it
 * is asked here. Throws SlurmUnavailableError when the database cannot be asked.
 */
export interface PosixAccounts {
  /** The account, or null when the island has none of that name. */
  lookupAccount(user: string): Promise<PosixAccount | null>;
}

/** getent's exit status for "no such key". */
export const GETENT_NOT_FOUND = 2;

/** The answer of `getent passwd <user>`: the account, null for exit 2, an error otherwise. */
export function accountFromGetent(user: string, code: number | null, stdout: string, where: string): PosixAccount | null {
  if (code === GETENT_NOT_FOUND) return null;
  const account = code === 0 ? parsePasswdLine(stdout.split('\n')[0] ?? '') : null;
  if (!account || account.name !== user) {
    throw new SlurmUnavailableError(`getent passwd ${user} on ${where} answered ${code === 0 ? JSON.stringify(stdout.slice(0, 100)) : `exit ${code}`}`);
  }
  return account;
}

/** This machine's accounts (NSS: /etc/passwd, LDAP, SSSD…), through getent. */
export class LocalPosixAccounts implements PosixAccounts {
  lookupAccount(user: string): Promise<PosixAccount | null> {
    if (!isPosixUserName(user)) return Promise.reject(new InvalidSlurmUserError(`invalid POSIX user name ${JSON.stringify(user)}`));
    return new Promise((resolve, reject) => {
      execFile('getent', ['passwd', user], { timeout: 5000 }, (error, stdout) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        try {
          resolve(accountFromGetent(user, code, stdout, 'this host'));
        } catch (failure) {
          reject(failure);
        }
      });
    });
  }
}
