import { AsyncLocalStorage } from 'node:async_hooks';
import type { DataSource, EntityManager } from 'typeorm';

const ambient = new AsyncLocalStorage<EntityManager>();

/**
 * Runs `work` inside the transaction already open on this call path, or in a new one. A change that
 * spans modules (a key revoked and its audit entry, a job and its chain link) commits together
 * without any module handing its EntityManager to another: repositories reached through `rows()`
 * on the DataSource join the open transaction by themselves.
 */
export function transaction<T>(db: DataSource, work: (m: EntityManager) => Promise<T>): Promise<T> {
  const open = openTransaction();
  if (open) return work(open);
  return db.transaction((m) => ambient.run(m, () => work(m)));
}

/**
 * The transaction open on this call path, if any. Work started inside a transaction but still running
 * after it ended (a timer, a batch flushed later) inherits the context: a finished one counts as none.
 */
export function openTransaction(): EntityManager | undefined {
  const open = ambient.getStore();
  return open?.queryRunner && !open.queryRunner.isReleased ? open : undefined;
}

/** Runs `work` as if no transaction were open (its statements take their own connections). */
export function outsideTransactions<T>(work: () => T): T {
  return ambient.exit(work);
}
