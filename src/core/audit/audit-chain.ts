import { createHash } from 'node:crypto';
import { canonicalJson } from '../common/canonical-json';

/**
 * The audit trail's hash chain. Pure: no I/O. An entry's hash is SHA-256 over the canonical JSON
 * of its content (seq, at, actor, action, target, details) together with the previous entry's
 * hash; the first entry's previous hash is 32 zero bytes.
 */
export const GENESIS_HASH = Buffer.alloc(32);

export interface AuditContent {
  seq: number;
  /** ISO 8601 with milliseconds, as stored (timestamptz keeps them exactly). */
  at: string;
  actor: string;
  action: string;
  target: string | null;
  details: Record<string, unknown>;
}

export interface AuditEntry extends AuditContent {
  prevHash: Buffer;
  hash: Buffer;
}

export function entryHash(content: AuditContent, prevHash: Buffer): Buffer {
  const { seq, at, actor, action, target, details } = content;
  const canonical = canonicalJson({ seq, at, actor, action, target, details, prevHash: prevHash.toString('hex') });
  return createHash('sha256').update(canonical, 'utf8').digest();
}

export interface BrokenLink {
  seq: number;
  reason: string;
}

/**
 * Checks `entries` (in seq order) as the continuation of a chain whose last entry was `previous`
 * (null: from the start). Returns the first broken link: a missing or repeated seq (a row deleted
 * or inserted), a prev_hash that is not the previous hash (reordered, or the previous row
 * rewritten with its hash), or a hash that does not match the entry (a row edited).
 */
export function firstBrokenLink(entries: AuditEntry[], previous: { seq: number; hash: Buffer } | null): BrokenLink | null {
  let expectedSeq = (previous?.seq ?? 0) + 1;
  let expectedPrev = previous?.hash ?? GENESIS_HASH;
  for (const entry of entries) {
    if (entry.seq !== expectedSeq) return { seq: entry.seq, reason: `expected seq ${expectedSeq}: entries are missing or out of order` };
    if (!entry.prevHash.equals(expectedPrev)) return { seq: entry.seq, reason: 'prev_hash is not the hash of the entry before it' };
    if (!entryHash(entry, entry.prevHash).equals(entry.hash)) return { seq: entry.seq, reason: 'hash does not match the entry: it was altered' };
    expectedSeq = entry.seq + 1;
    expectedPrev = entry.hash;
  }
  return null;
}

/** The head of the chain as someone saw it at some time: `seq` and its entry's hash (hex). */
export interface WitnessedHead {
  seq: number;
  hash: string;
  at?: string;
}

/**
 * Checks a chain that verified link by link against a head seen earlier (kept outside the
 * database): removing the newest entries leaves a valid but shorter chain, and rewriting the
 * whole chain from some entry on leaves a valid but different one. `head` is the chain's last
 * seq now, `hashAt` the hash of its entry at `witnessed.seq` (null when there is none).
 */
export function checkAgainstWitness(head: number, hashAt: Buffer | null, witnessed: WitnessedHead): BrokenLink | null {
  const seen = witnessed.at ? ` (seen at ${witnessed.at})` : '';
  if (head < witnessed.seq) {
    return { seq: head + 1, reason: `entries ${head + 1} to ${witnessed.seq} are gone: the witnessed head was seq ${witnessed.seq}${seen}` };
  }
  if (!hashAt || hashAt.toString('hex') !== witnessed.hash.toLowerCase()) {
    return { seq: witnessed.seq, reason: `hash differs from the witnessed head${seen}: the chain was rewritten at or before this entry` };
  }
  return null;
}
