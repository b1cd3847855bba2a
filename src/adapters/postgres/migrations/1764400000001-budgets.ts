import { MigrationInterface, QueryRunner } from 'typeorm';

/** A monthly spending cap per tenant (principal), in the billing denom's micro-units. */
export class Budgets1764400000001 implements MigrationInterface {
  name = 'Budgets1764400000001';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE tenant_budgets (
        principal_id uuid PRIMARY KEY REFERENCES principals(id) ON DELETE CASCADE,
        monthly_limit numeric(40, 0) NOT NULL CHECK (monthly_limit >= 0),
        denom text NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    // what a budget check sums: this month's bills of one owner
    await q.query('CREATE INDEX usage_records_owner_month ON usage_records (owner_id, created_at)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX usage_records_owner_month');
    await q.query('DROP TABLE tenant_budgets');
  }
}
