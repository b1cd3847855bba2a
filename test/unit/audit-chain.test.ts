import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { AuditContent, AuditEntry, checkAgainstWitness, entryHash, firstBrokenLink, GENESIS_HASH } from '../../src/core/audit/audit-chain';
import { lastWitnessedHead } from '../../src/features/audit/audit-witness';

function chain(n: number): AuditEntry[] {
  const entries: AuditEntry[] = [];
  let prevHash: Buffer = GENESIS_HASH;
  for (let seq = 1; seq <= n; seq++) {
    const content: AuditContent = {
      seq,
      at: new Date(Date.UTC(2026, 10, 25, 0, 0, seq)).toISOString(),
      actor: 'principal:a',
      action: 'api_key.create',
      target: `api_key:${seq}`,
      details: { scopes: ['read'], n: seq },
    };
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
    for (const change of [
      { seq: 2 },
      { at: '2026-11-25T00:00:02.000Z' },
      { actor: 'principal:b' },
      { action: 'api_key.revoke' },
      { target: null },
      { details: { scopes: ['admin'], n: 1 } },
    ]) {
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

describe('checkAgainstWitness: a head seen earlier, kept outside the database', () => {
  const hash = Buffer.alloc(32, 7);
  const witnessed = { seq: 10, hash: hash.toString('hex'), at: '2026-11-25T10:00:00.000Z' };

  it('holds when the chain still has the witnessed entry, unchanged, at or before its head', () => {
    assert.equal(checkAgainstWitness(10, hash, witnessed), null);
    assert.equal(checkAgainstWitness(25, hash, witnessed), null);
    assert.equal(checkAgainstWitness(10, hash, { ...witnessed, hash: witnessed.hash.toUpperCase() }), null);
  });

  it('reports the newest entries removed: the chain ends before the witnessed head', () => {
    assert.deepEqual(checkAgainstWitness(7, null, witnessed), {
      seq: 8,
      reason: 'entries 8 to 10 are gone: the witnessed head was seq 10 (seen at 2026-11-25T10:00:00.000Z)',
    });
  });

  it('reports a chain rewritten from the witnessed entry or earlier', () => {
    const broken = checkAgainstWitness(12, Buffer.alloc(32, 8), witnessed);
    assert.equal(broken?.seq, 10);
    assert.match(broken!.reason, /hash differs from the witnessed head/);
  });
});

describe("lastWitnessedHead: the witness file's last good line", () => {
  const dir = mkdtempSync(join(tmpdir(), 'witness-'));
  const line = (seq: number) => JSON.stringify({ seq, hash: seq.toString(16).padStart(64, '0'), at: 'x' });

  it('reads the last line, skipping a torn or foreign one, and null without a file', () => {
    const file = join(dir, 'a.jsonl');
    writeFileSync(file, `${line(1)}\n${line(2)}\n{"seq":3,"hash":"zz"}\n{"seq":4,"ha`);
    assert.equal(lastWitnessedHead(file)?.seq, 2);
    writeFileSync(file, `${'x'.repeat(10_000)}\n${line(9)}\n`);
    assert.equal(lastWitnessedHead(file)?.seq, 9, 'only the tail is read');
    assert.equal(lastWitnessedHead(join(dir, 'missing.jsonl')), null);
  });
});
