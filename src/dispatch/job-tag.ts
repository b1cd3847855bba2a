/**
 * Every SLURM job we submit carries our id in its comment. That is how a restarted dispatcher
 * finds a job it already submitted, and how the follower maps SLURM's records back to ours. The
 * instance part keeps two control planes (or two test databases) sharing a cluster apart.
 */
export class JobTagger {
  private readonly pattern: RegExp;

  constructor(private readonly instance: string) {
    if (!/^[a-z0-9-]{1,32}$/.test(instance)) throw new Error(`invalid instance id ${instance}`);
    this.pattern = new RegExp(`^archipelago:${instance}:job=(\\d{1,18})(?:\\s|$)`);
  }

  tag(jobId: string, userComment?: string): string {
    const tag = `archipelago:${this.instance}:job=${jobId}`;
    return userComment ? `${tag} ${userComment}` : tag;
  }

  jobIdFrom(comment: string | undefined | null): string | null {
    const match = comment ? this.pattern.exec(comment) : null;
    return match ? match[1] : null;
  }
}
