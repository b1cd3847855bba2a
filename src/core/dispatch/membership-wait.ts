/**
 * A job no island can run as the islands are now is REJECTED, unless latency-formed islands are
 * changing (nodes joining, leaving or moving, an island's SLURM starting or stopping): the capacity
 * seen in the middle of a change is not the capacity to come, so the job waits and is placed again
 * once the change settles, for at most `maxWaitSeconds` after it was submitted (a job that still
 * fits nowhere then is rejected for good).
 */
export function waitsForMembership(changing: boolean, submittedAt: Date, now: Date, maxWaitSeconds: number): boolean {
  return changing && now.getTime() - submittedAt.getTime() < maxWaitSeconds * 1000;
}

export const tierWaitReason = (rejection: string) =>
  `waiting: no island is in the latency tier it needs now; islands re-form as latency changes, placement is decided again (now: ${rejection})`;

export const membershipWaitReason = (rejection: string) =>
  `waiting: island membership is changing, placement is decided again once it settles (now: ${rejection})`;
