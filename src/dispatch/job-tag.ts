/**
 * Every SLURM job we submit carries our id in its comment. That is how a restarted dispatcher
 * finds a job it already submitted, and how the follower maps SLURM's records back to ours.
 */
const TAG = /^archipelago:job=(\d{1,18})(?:\s|$)/;

export function jobTag(jobId: string, userComment?: string): string {
  const tag = `archipelago:job=${jobId}`;
  return userComment ? `${tag} ${userComment}` : tag;
}

export function jobIdFromComment(comment: string | undefined | null): string | null {
  const match = comment ? TAG.exec(comment) : null;
  return match ? match[1] : null;
}
