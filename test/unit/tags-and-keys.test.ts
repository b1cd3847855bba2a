import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { generateApiKey, hashApiKey, looksLikeApiKey } from '../../src/core/auth/api-key';
import { JobTagger, type TaggedJob } from '../../src/core/dispatch/job-tag';

const KEY = Buffer.alloc(32, 7);
/** The key was created (the control plane upgraded) at T; jobs accepted before it may carry old tags. */
const T = new Date('2026-12-01T00:00:00Z');
const BEFORE = new Date(T.getTime() - 1);
const AFTER = new Date(T.getTime() + 1);
type Job = TaggedJob & { submitted_at: Date };
const job = (id: string, over: Partial<Job> = {}): Job => ({ id, slurm_user: 'alice', submitted_at: AFTER, ...over });

describe('JobTagger', () => {
  const tagger = new JobTagger('prod-1', KEY, T);

  it('tags a job id with the instance, the attempt and a 128-bit mac', () => {
    assert.match(tagger.tag('42', 1, 'alice'), /^archipelago:prod-1:job=42:1:[A-Za-z0-9_-]{22}$/);
  });
  it('the mac is HMAC-SHA256 over instance, job, attempt and user, truncated to 16 bytes (independent computation)', () => {
    const mac = createHmac('sha256', KEY).update('archipelago-job-tag-v1\nprod-1\n42\n3\nalice').digest().subarray(0, 16);
    assert.equal(tagger.tag('42', 3, 'alice'), `archipelago:prod-1:job=42:3:${mac.toString('base64url')}`);
  });
  it('appends the user comment after a space; an empty one adds nothing', () => {
    assert.equal(tagger.tag('42', 1, 'alice', 'my run #3'), `${tagger.tag('42', 1, 'alice')} my run #3`);
    assert.equal(tagger.tag('42', 1, 'alice', ''), tagger.tag('42', 1, 'alice'));
  });
  it('vouches for its own tags, with or without a user comment', () => {
    assert.equal(tagger.vouches(tagger.tag('42', 1, 'alice'), 'alice', job('42')), true);
    assert.equal(tagger.vouches(tagger.tag('42', 2, 'alice', 'hello world'), 'alice', job('42')), true);
    assert.equal(tagger.vouches(`${tagger.tag('7', 1, 'alice')}\tnote`, 'alice', job('7')), true);
    const long = '123456789012345678';
    assert.equal(tagger.vouches(tagger.tag(long, 1, 'alice'), 'alice', job(long)), true);
    assert.equal(tagger.jobIdFrom(tagger.tag('42', 1, 'alice', 'x')), '42');
  });
  it("a tag copied whole into another user's job proves nothing (SLURM reports the copy's real owner)", () => {
    const victims = tagger.tag('42', 1, 'alice');
    assert.equal(tagger.vouches(victims, 'mallory', job('42')), false);
  });
  it('a tag made for another user does not vouch for this job, even when SLURM says that user owns it', () => {
    // mallory's own tag for job 42, as if the control plane had submitted 42 for her: 42 is alice's.
    assert.equal(tagger.vouches(tagger.tag('42', 1, 'mallory'), 'mallory', job('42')), false);
  });
  it('a tag names exactly one job: job=1 and job=12 differ, and the comment after it changes nothing', () => {
    assert.equal(tagger.vouches(tagger.tag('12', 1, 'alice'), 'alice', job('1')), false);
    assert.equal(tagger.vouches(tagger.tag('1', 1, 'alice'), 'alice', job('12')), false);
    assert.equal(tagger.vouches(tagger.tag('5', 1, 'alice', tagger.tag('6', 1, 'alice')), 'alice', job('6')), false);
    assert.equal(tagger.jobIdFrom(tagger.tag('5', 1, 'alice', tagger.tag('6', 1, 'alice'))), '5');
  });
  it("a forged or altered mac does not verify: another job's, another attempt's, another key's, flipped bits", () => {
    const real = tagger.tag('42', 1, 'alice');
    const mac = real.slice(-22);
    const flipped = (mac[0] === 'A' ? 'B' : 'A') + mac.slice(1);
    for (const forged of [
      `archipelago:prod-1:job=42:1:${flipped}`,
      `archipelago:prod-1:job=42:2:${mac}`,
      `archipelago:prod-1:job=43:1:${mac}`,
      `archipelago:prod-1:job=42:1:${'A'.repeat(22)}`,
      new JobTagger('prod-1', Buffer.alloc(32, 8), T).tag('42', 1, 'alice'),
    ]) {
      assert.equal(tagger.vouches(forged, 'alice', job('42')), false, forged);
      assert.equal(tagger.vouches(forged, 'alice', job('43')), false, forged);
    }
  });
  it('dispatch recovery: only tags of earlier attempts count, with the same owner and a verified mac', () => {
    const second = tagger.tag('42', 2, 'alice');
    assert.equal(tagger.vouchesForEarlierAttempt(second, 'alice', job('42'), 3), true);
    assert.equal(tagger.vouchesForEarlierAttempt(second, 'alice', job('42'), 2), false, 'the current attempt has not submitted yet');
    assert.equal(tagger.vouchesForEarlierAttempt(second, 'alice', job('42'), 1), false);
    assert.equal(tagger.vouchesForEarlierAttempt(second, 'mallory', job('42'), 3), false, "a copy in another user's job");
    assert.equal(tagger.vouchesForEarlierAttempt(tagger.tag('42', 2, 'mallory'), 'mallory', job('42'), 3), false);
    assert.equal(tagger.vouchesForEarlierAttempt(`archipelago:prod-1:job=42:2:${'A'.repeat(22)}`, 'alice', job('42'), 3), false);
    assert.equal(tagger.vouchesForEarlierAttempt(tagger.tag('43', 2, 'alice'), 'alice', job('42'), 3), false);
  });
  it("does not match other instances' tags, including ones its name is a prefix of", () => {
    for (const other of ['prod-2', 'prod-10', 'prod', 'prod-1x', 'x-prod-1']) {
      const foreign = new JobTagger(other, KEY, T).tag('42', 1, 'alice');
      assert.equal(tagger.jobIdFrom(foreign), null, other);
      assert.equal(tagger.vouches(foreign, 'alice', job('42')), false, other);
    }
    assert.equal(new JobTagger('prod', KEY, T).jobIdFrom(tagger.tag('42', 1, 'alice')), null);
  });
  it('does not match comments that are not exactly a tag', () => {
    const mac = tagger.tag('42', 1, 'alice').slice(-22);
    for (const comment of [
      '',
      'archipelago:prod-1:job=',
      'archipelago:prod-1:job=42x',
      'archipelago:prod-1:job=4.2',
      'archipelago:prod-1:job=-42',
      ' archipelago:prod-1:job=42',
      'user says archipelago:prod-1:job=42',
      'ARCHIPELAGO:prod-1:job=42',
      'archipelago:prod-1:job=1234567890123456789', // 19 digits: not an id of ours
      `archipelago:prod-1:job=42:1:${mac}x`,
      `archipelago:prod-1:job=42:1:${mac.slice(1)}`,
      `archipelago:prod-1:job=42::${mac}`,
      `archipelago:prod-1:job=42:1`,
    ]) {
      assert.equal(tagger.jobIdFrom(comment), null, JSON.stringify(comment));
      assert.equal(tagger.vouches(comment, 'alice', job('42')), false, JSON.stringify(comment));
      assert.equal(tagger.vouchesForEarlierAttempt(comment, 'alice', job('42', { submitted_at: BEFORE }), 9), false, JSON.stringify(comment));
    }
    assert.equal(tagger.jobIdFrom(null), null);
    assert.equal(tagger.vouches(undefined, 'alice', job('42')), false);
  });
  it('an old tag without a mac: under the recorded SLURM id for its owner; in recovery only for jobs accepted before the key', () => {
    const old = 'archipelago:prod-1:job=42';
    // In flight across the upgrade, or written by an old worker during a rolling upgrade: the
    // recorded SLURM id, which nobody else can hold, already links it.
    assert.equal(tagger.vouches(old, 'alice', job('42')), true);
    assert.equal(tagger.vouches(`${old} note`, 'alice', job('42')), true);
    assert.equal(tagger.vouches(old, 'mallory', job('42')), false, "a copy in another user's job");
    assert.equal(tagger.vouches(old, 'alice', job('43')), false);
    assert.equal(tagger.vouchesForEarlierAttempt(old, 'alice', job('42', { submitted_at: BEFORE }), 2), true, 'crashed mid-submit before the upgrade');
    assert.equal(tagger.vouchesForEarlierAttempt(old, 'mallory', job('42', { submitted_at: BEFORE }), 2), false);
    assert.equal(tagger.vouchesForEarlierAttempt(old, 'alice', job('42', { submitted_at: AFTER }), 2), false, 'made up for a job accepted since');
    assert.equal(tagger.vouchesForEarlierAttempt(old, 'alice', job('42', { submitted_at: T }), 2), false);
  });
  it('verdicts are remembered per tag and owner: a yes for the owner stays a no for anyone else', () => {
    const fresh = new JobTagger('prod-1', KEY, T);
    const comment = fresh.tag('42', 1, 'alice');
    for (let i = 0; i < 3; i++) assert.equal(fresh.vouches(comment, 'alice', job('42')), true);
    assert.equal(fresh.vouches(comment, 'mallory', job('42')), false);
  });
  it('refuses instance ids that could not be matched safely, and short keys', () => {
    for (const bad of ['', 'Prod', 'a.b', 'a:b', 'a b', 'x'.repeat(33), '.*', 'a|b']) {
      assert.throws(() => new JobTagger(bad, KEY, T), /invalid instance id/, JSON.stringify(bad));
    }
    assert.doesNotThrow(() => new JobTagger('x'.repeat(32), KEY, T));
    assert.throws(() => new JobTagger('prod-1', Buffer.alloc(16), T), /at least 32 bytes/);
    assert.throws(() => new JobTagger('prod-1', Buffer.alloc(0), T), /at least 32 bytes/);
  });
});

describe('API keys', () => {
  it('generates ak_ + 43 base64url characters (32 bytes), with an 11-character prefix', () => {
    const { key, prefix } = generateApiKey();
    assert.match(key, /^ak_[A-Za-z0-9_-]{43}$/);
    assert.equal(Buffer.from(key.slice(3), 'base64url').length, 32);
    assert.equal(prefix, key.slice(0, 11));
    assert.ok(prefix.startsWith('ak_'));
  });
  it('stores the SHA-256 of the key', () => {
    const { key, hash } = generateApiKey();
    assert.equal(hash.length, 32);
    assert.ok(hash.equals(hashApiKey(key)));
  });
  it('hashApiKey is SHA-256 of the UTF-8 text', () => {
    // FIPS 180-2 test vector.
    assert.equal(hashApiKey('abc').toString('hex'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    assert.ok(!hashApiKey('abc').equals(hashApiKey('abd')));
  });
  it('never generates the same key twice', () => {
    const keys = new Set(Array.from({ length: 200 }, () => generateApiKey().key));
    assert.equal(keys.size, 200);
  });
  it('looksLikeApiKey accepts generated keys and short tokens of the allowed alphabet', () => {
    for (let i = 0; i < 20; i++) assert.ok(looksLikeApiKey(generateApiKey().key));
    assert.ok(looksLikeApiKey('a.b-c_D9'));
    assert.ok(looksLikeApiKey('k'.repeat(200)));
  });
  it('looksLikeApiKey refuses empty, too long, and characters outside [A-Za-z0-9_.-]', () => {
    assert.ok(!looksLikeApiKey(''));
    assert.ok(!looksLikeApiKey('k'.repeat(201)));
    for (const bad of ['ak_abc def', 'ak_abc+def', 'ak_abc/def', 'ak_abc=', 'ak_é', 'ak_\n', "ak_' OR 1=1"]) {
      assert.ok(!looksLikeApiKey(bad), JSON.stringify(bad));
    }
  });
});
