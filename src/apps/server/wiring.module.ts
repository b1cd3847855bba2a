import { Global, Module } from '@nestjs/common';
import { PRINCIPAL_DIRECTORY } from '../../core/auth/principal-directory';
import { JOB_SUBMISSION } from '../../core/jobs/job-submission';
import { AuthModule } from '../../features/auth/auth.module';
import { WalletLoginRepository } from '../../features/auth/wallet-login.repository';
import { JobsModule } from '../../features/jobs/jobs.module';
import { JobsService } from '../../features/jobs/jobs.service';

/**
 * Binds the ports one feature offers another where the offering module is not global itself: chain
 * ingress (ledger) submits through the jobs feature and resolves wallets through auth, knowing
 * only JOB_SUBMISSION and PRINCIPAL_DIRECTORY (core).
 */
@Global()
@Module({
  imports: [JobsModule, AuthModule],
  providers: [
    { provide: JOB_SUBMISSION, useExisting: JobsService },
    { provide: PRINCIPAL_DIRECTORY, useExisting: WalletLoginRepository },
  ],
  exports: [JOB_SUBMISSION, PRINCIPAL_DIRECTORY],
})
export class WiringModule {}
