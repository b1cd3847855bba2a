import type { DataSource, QueryRunner } from 'typeorm';
import { outsideTransactions } from './transactions';

/** A session-level PostgreSQL advisory lock held on a connection of its own. */
export interface HeldLock {
  release(): Promise<void>;
}

/** Takes `key` if no other session holds it (never waits); null when another does. */
export async function tryLock(db: DataSource, key: number): Promise<HeldLock | null> {
  const runner: QueryRunner = db.createQueryRunner();
  await runner.connect();
  try {
    const [{ locked }] = await runner.query('SELECT pg_try_advisory_lock($1) AS locked', [key]);
    if (!locked) {
      await runner.release();
      return null;
    }
  } catch (error) {
    await runner.release();
    throw error;
  }
  return {
    release: async () => {
      try {
        await runner.query('SELECT pg_advisory_unlock($1)', [key]);
      } finally {
        await runner.release();
      }
    },
  };
}

/**
 * Runs `work` as the only holder of `key` across every process (one formation or ingress pass
 * cluster-wide); null, without running it, when another process is in its pass. The lock's own
 * connection is kept out of any transaction `work` opens.
 */
export async function onePassUnderLock<T>(db: DataSource, key: number, work: () => Promise<T>): Promise<T | null> {
  const lock = await outsideTransactions(() => tryLock(db, key));
  if (!lock) return null;
  try {
    return await work();
  } finally {
    await lock.release();
  }
}
