import type { DataSource } from 'typeorm';

/**
 * A DataSource for services whose repositories are in-memory fakes: `transaction()` runs the work
 * and, when it throws, puts the fakes back as they were (what PostgreSQL's rollback would do).
 * Each fake registers a snapshot/restore pair.
 */
export class FakeDatabase {
  private readonly stores: Array<{ snapshot(): unknown; restore(state: unknown): void }> = [];
  transactions = 0;

  register(store: { snapshot(): unknown; restore(state: unknown): void }): void {
    this.stores.push(store);
  }

  asDataSource(): DataSource {
    return {
      transaction: async <T>(work: (manager: unknown) => Promise<T>): Promise<T> => {
        this.transactions++;
        const saved = this.stores.map((s) => s.snapshot());
        try {
          return await work({ queryRunner: { isReleased: false } });
        } catch (error) {
          this.stores.forEach((s, i) => s.restore(saved[i]));
          throw error;
        }
      },
    } as unknown as DataSource;
  }
}
