import { Global, Module } from '@nestjs/common';
import { PRINCIPAL_DIRECTORY } from '../../core/auth/principal-directory';
import { JOB_SUBMISSION } from '../../core/jobs/job-submission';
import { AuthModule } from '../../features/auth/auth.module';
import { PrincipalsRepository } from '../../features/auth/principals.repository';
import { JobsModule } from '../../features/jobs/jobs.module';
import { JobsService } from '../../features/jobs/jobs.service';
import { JobsRepository } from '../../features/jobs/jobs.repository';
import { ACCOUNTING_QUEUE } from '../../core/usage/accounting-queue';
import { BILLABLE_JOBS } from '../../core/usage/billable-jobs';
import { ISLAND_MEMBERSHIP } from '../../core/islands/island-membership';
import { NodesDataModule } from '../../features/nodes/nodes-data.module';
import { NodesRepository } from '../../features/nodes/nodes.repository';
import { UsageDataModule } from '../../features/usage/usage-data.module';
import { UsageRepository } from '../../features/usage/usage.repository';
import { JOB_STATS, NODE_HEARTBEATS, USAGE_OUTBOX_STATS } from '../../core/common/domain-stats';
import { NODE_FACTS } from '../../core/nodes/node-facts';
import { JOB_OUTCOMES } from '../../core/jobs/job-outcomes';
import { REPORTED_USAGE } from '../../core/usage/reported-usage';

/**
 * Binds the ports one feature offers another where the offering module is not global itself: chain
 * ingress (ledger) submits through the jobs feature and resolves wallets through auth; usage
 * accounting leases ended jobs from the jobs feature and budgets read them; island formation moves
 * nodes through the nodes feature; metrics read jobs, nodes and the usage outbox through their
 * owners' named queries. Each knows only the port in core.
 */
@Global()
@Module({
  imports: [JobsModule, AuthModule, NodesDataModule, UsageDataModule],
  providers: [
    { provide: JOB_SUBMISSION, useExisting: JobsService },
    { provide: PRINCIPAL_DIRECTORY, useExisting: PrincipalsRepository },
    { provide: ACCOUNTING_QUEUE, useExisting: JobsRepository },
    { provide: BILLABLE_JOBS, useExisting: JobsRepository },
    { provide: ISLAND_MEMBERSHIP, useExisting: NodesRepository },
    { provide: JOB_STATS, useExisting: JobsRepository },
    { provide: NODE_FACTS, useExisting: NodesRepository },
    { provide: JOB_OUTCOMES, useExisting: JobsRepository },
    { provide: NODE_HEARTBEATS, useExisting: NodesRepository },
    { provide: USAGE_OUTBOX_STATS, useExisting: UsageRepository },
    { provide: REPORTED_USAGE, useExisting: UsageRepository },
  ],
  exports: [
    JOB_SUBMISSION,
    PRINCIPAL_DIRECTORY,
    ACCOUNTING_QUEUE,
    BILLABLE_JOBS,
    ISLAND_MEMBERSHIP,
    JOB_STATS,
    NODE_HEARTBEATS,
    USAGE_OUTBOX_STATS,
    REPORTED_USAGE,
    NODE_FACTS,
    JOB_OUTCOMES,
  ],
})
export class WiringModule {}
