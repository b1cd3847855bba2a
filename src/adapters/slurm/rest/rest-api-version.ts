/**
 * The slurmrestd APIs the REST adapter speaks, newest first. Each SLURM release serves the last
 * few data_parser versions (22.05: up to v0.0.38; 24.11: v0.0.40-v0.0.42); docs/operations.md has
 * the table.
 */
export const REST_API_VERSIONS = ['v0.0.42', 'v0.0.41', 'v0.0.40', 'v0.0.38'] as const;
export type RestApiVersion = (typeof REST_API_VERSIONS)[number];

/** v0.0.40 and later (SLURM 23.11+): wrapped numbers, state arrays, environment as a list. */
export function isModern(version: RestApiVersion): boolean {
  return version !== 'v0.0.38';
}

/**
 * The query that asks for jobs only if any changed since `since` (unix seconds): v0.0.38 and v0.0.42
 * take the epoch; v0.0.40/41 refuse it (422) and take SLURM's relative time, `now-<seconds>`, which
 * slurmctld reads against its own clock.
 */
export function updateTimeQuery(version: RestApiVersion, since: number, nowSeconds: number): string {
  if (version === 'v0.0.40' || version === 'v0.0.41') return `?update_time=now-${Math.max(0, Math.ceil(nowSeconds - since))}`;
  return `?update_time=${Math.floor(since)}`;
}
