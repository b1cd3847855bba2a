import { AuditApiModule } from '../../features/audit/audit-api.module';
import { AuthApiModule } from '../../features/auth/auth-api.module';
import { WalletLoginModule } from '../../features/auth/wallet-login.module';
import { HealthApiModule } from '../../features/health/health-api.module';
import { IslandsApiModule } from '../../features/islands/islands-api.module';
import { JobsApiModule } from '../../features/jobs/jobs-api.module';
import { MetricsApiModule } from '../../features/metrics/metrics-api.module';
import { NodesModule } from '../../features/nodes/nodes.module';
import { UsageApiModule } from '../../features/usage/usage-api.module';
import { RateLimitModule } from '../../adapters/http/ratelimit/rate-limit.module';

/** What the API role adds: every controller, the access guard and rate limits (and through them validation and OpenAPI). */
export const API_MODULES = [
  AuditApiModule,
  AuthApiModule,
  HealthApiModule,
  MetricsApiModule,
  WalletLoginModule,
  JobsApiModule,
  NodesModule,
  IslandsApiModule,
  UsageApiModule,
  RateLimitModule,
];
