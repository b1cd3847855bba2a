import { Inject, Injectable, Logger } from '@nestjs/common';
import { Problem } from '../../core/common/problem';
import { serviceAccountRefusal, type TenantAccountRefusal } from '../../core/slurm/posix-user';
import { ISLAND_DIRECTORY, type IslandDirectory } from './island-directory';

/** What one island says about a POSIX account a principal is being mapped to. */
export interface IslandAccountReport {
  island: string;
  /** ok: a tenant may run as it there; missing: no such account there (its jobs placed there fail); unchecked: the island did not answer. */
  status: 'ok' | 'missing' | 'unchecked';
  uid?: number;
  detail?: string;
}

/** A mapping is not held up by an island that does not answer: the dispatcher checks again anyway. */
const LOOKUP_TIMEOUT_MS = 5000;

function refused(field: string, refusal: TenantAccountRefusal): Problem {
  return new Problem(400, 'Invalid request', `${field}: ${refusal.reason}`, {
    field,
    rule: refusal.rule,
    errors: [{ field, reason: refusal.reason }],
  });
}

/**
 * Checks a principal's POSIX account when it is mapped (`POST /v1/principals`,
 * `PUT /v1/wallet-accounts/{address}`) against every island the control plane knows: a service
 * account, or one below an island's minimum uid, is refused with 400 naming the rule; an island
 * without the account is reported in the answer (and the log), as its jobs placed there will fail.
 * The dispatcher applies the same rules again before every submission.
 */
@Injectable()
export class SlurmUserMapping {
  private readonly logger = new Logger(SlurmUserMapping.name);

  constructor(@Inject(ISLAND_DIRECTORY) private readonly islands: IslandDirectory) {}

  async check(user: string, field = 'slurmUser'): Promise<IslandAccountReport[]> {
    const islands = this.islands.all();
    const byName = serviceAccountRefusal(user, this.islands.deniedTenantUsers());
    if (byName) throw refused(field, byName);
    const reports = await Promise.all(
      islands.map(async (island): Promise<IslandAccountReport | TenantAccountRefusal> => {
        const name = island.settings.connection.name;
        let timer: NodeJS.Timeout | undefined;
        try {
          const timeout = new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`no answer within ${LOOKUP_TIMEOUT_MS} ms`)), LOOKUP_TIMEOUT_MS);
          });
          const { account, refusal } = await Promise.race([island.tenants.inspect(user), timeout]);
          if (refusal?.rule === 'no-account') return { island: name, status: 'missing', detail: refusal.reason };
          if (refusal) return refusal;
          return { island: name, status: 'ok', uid: account!.uid };
        } catch (error) {
          return { island: name, status: 'unchecked', detail: (error as Error).message };
        } finally {
          clearTimeout(timer);
        }
      }),
    );
    const refusal = reports.find((r): r is TenantAccountRefusal => 'rule' in r);
    if (refusal) throw refused(field, refusal);
    const found = reports as IslandAccountReport[];
    for (const report of found.filter((r) => r.status !== 'ok')) {
      this.logger.warn(`POSIX account ${user} ${report.status} on island ${report.island}: ${report.detail}`);
    }
    return found;
  }
}
