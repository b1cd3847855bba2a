import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A node's providerGroup tag was whatever its agent claimed; it now comes from the provider whose
 * join token admitted the node (providerGroupOf in src/core/nodes/join-token.ts). Nodes that joined
 * before get their provider's group, so no claimed group outlives the rule.
 */
export class ProviderGroups1765030000000 implements MigrationInterface {
  name = 'ProviderGroups1765030000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `UPDATE nodes n
          SET tags = n.tags || jsonb_build_object('providerGroup',
                CASE WHEN p.name ~ '^[A-Za-z0-9_.-]{1,64}$' THEN p.name ELSE p.id::text END)
         FROM principals p
        WHERE p.id = n.provider_id`,
    );
  }

  async down(): Promise<void> {
    // What agents claimed before is not kept: there is nothing to restore.
  }
}
