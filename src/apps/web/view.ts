/**
 * What the current view keeps running (polling output, refreshing lists) stops when the view changes,
 * so a left job page stops asking for its output.
 */
let timers: number[] = [];

export function repeat(task: () => Promise<void> | void, everyMs: number): void {
  timers.push(window.setInterval(() => void task(), everyMs));
}

export function leaveView(): void {
  for (const timer of timers) window.clearInterval(timer);
  timers = [];
}

/** Who is signed in, as `GET /v1/auth/me` says. */
export interface Me {
  id: string;
  name: string;
  kind: string;
  scopes: string[];
  chainAddress: string | null;
  slurmUser: string | null;
}

export const isAdmin = (me: Me): boolean => me.scopes.includes('admin');
export const seesNodes = (me: Me): boolean => me.scopes.includes('admin') || me.scopes.includes('provider');
