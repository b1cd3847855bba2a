import { Injectable } from '@nestjs/common';

/**
 * When this process last submitted to each island. While a burst of submissions is under way a
 * full listing of the island's queue tells the follower little (the new jobs are pending) and
 * takes slurmrestd away from the submissions, so the follower may wait for the burst to pass.
 */
@Injectable()
export class DispatchActivity {
  private readonly lastSubmit = new Map<string, number>();

  submitted(island: string): void {
    this.lastSubmit.set(island, Date.now());
  }

  submittingWithin(island: string, ms: number): boolean {
    return Date.now() - (this.lastSubmit.get(island) ?? 0) < ms;
  }
}
