import type { Principal } from '../auth/principal';

export interface AuditRecord {
  /** `principal:<id>`, `join_token:<id>` (a node joining) or `system:<component>`. */
  actor: string;
  /** `<thing>.<verb>`, e.g. `api_key.revoke`. */
  action: string;
  target: string | null;
  details?: Record<string, unknown>;
}

/** Who did it, for entries caused by an authenticated caller (never the key itself). */
export function principalActor(principal: Principal): { actor: string; details: Record<string, unknown> } {
  return { actor: `principal:${principal.id}`, details: { actorName: principal.name, credential: principal.credentialId } };
}

/** Where any feature records what it changed (the audit feature keeps the hash chain). */
export interface AuditTrail {
  /** Joins the transaction open on this call path, so the change and its entry commit together. */
  record(entry: AuditRecord): Promise<unknown>;
}

export const AUDIT_TRAIL = Symbol('AUDIT_TRAIL');
