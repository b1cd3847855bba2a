import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AuditContent, AuditEntry, entryHash, firstBrokenLink, GENESIS_HASH } from '../../src/audit/audit-chain';

function chain(n: number): AuditEntry[] {
  const entries: AuditEntry[] = [];
  let prevHash: Buffer = GENESIS_HASH;
  for (let seq = 1; seq <= n; seq++) {
    const content: AuditContent = { seq, at: new Date(Date.UTC(2026, 10, 25, 0, 0, seq)).toISOString(), actor: 'principal:a', action: 'api_key.create', target: `api_key:${seq}`, details: { scopes: ['read'], n: seq } };
    const hash = entryHash(content, prevHash);
    entries.push({ ...content, prevHash, hash });
    prevHash = hash;
  }
  return entries;
}

describe('audit trail: the hash chain', () => {
  it('an untouched chain verifies, from the start and as a continuation', () => {
    const entries = chain(6);
    assert.equal(firstBrokenLink(entries, null), null);
    assert.equal(firstBrokenLink(entries.slice(3), entries[2]), null);
    assert.equal(firstBrokenLink([], null), null);
  });

  it('the hash covers every field and the previous hash, and ignores key order in details', () => {
    const [first] = chain(1);
    const base = entryHash(first, GENESIS_HASH);
    for (const change of [{ seq: 2 }, { at: '2026-11-25T00:00:02.000Z' }, { actor: 'principal:b' }, { action: 'api_key.revoke' }, { target: null }, { details: { scopes: ['admin'], n: 1 } }]) {
      assert.ok(!entryHash({ ...first, ...change }, GENESIS_HASH).equals(base), JSON.stringify(change));
    }
    assert.ok(!entryHash(first, Buffer.alloc(32, 1)).equals(base));
    assert.ok(entryHash({ ...first, details: { n: 1, scopes: ['read'] } }, GENESIS_HASH).equals(base), 'jsonb does not keep key order');
  });

  it('an edited row is the first broken link', () => {
    const entries = chain(5);
    entries[2] = { ...entries[2], details: { scopes: ['admin'], n: 3 } };
    assert.deepEqual(firstBrokenLink(entries, null), { seq: 3, reason: 'hash does not match the entry: it was altered' });
  });

  it('an edited row whose hash was recomputed breaks the next link', () => {
    const entries = chain(5);
    const forged = { ...entries[1], action: 'principal.create' };
    entries[1] = { ...forged, hash: entryHash(forged, forged.prevHash) };
    assert.deepEqual(firstBrokenLink(entries, null), { seq: 3, reason: 'prev_hash is not the hash of the entry before it' });
  });

  it('a deleted or reordered row is found by its seq', () => {
    const entries = chain(5);
    assert.equal(firstBrokenLink([...entries.slice(0, 2), ...entries.slice(3)], null)?.seq, 4);
    assert.equal(firstBrokenLink([entries[0], entries[2], entries[1]], null)?.seq, 3);
    assert.equal(firstBrokenLink(entries.slice(1), null)?.seq, 2, 'the first entry is missing');
  });
});
