import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { generateApiKey, hashApiKey, looksLikeApiKey, sameSecret } from '../../src/auth/api-key';
import { JobTagger } from '../../src/dispatch/job-tag';

describe('JobTagger', () => {
  const tagger = new JobTagger('prod-1');

  it('tags a job id with the instance', () => {
    assert.equal(tagger.tag('42'), 'archipelago:prod-1:job=42');
  });
  it('appends the user comment after a space', () => {
    assert.equal(tagger.tag('42', 'my run #3'), 'archipelago:prod-1:job=42 my run #3');
  });
  it('an empty user comment adds nothing', () => {
    assert.equal(tagger.tag('42', ''), 'archipelago:prod-1:job=42');
  });
  it('reads back the id of its own tags, with or without a user comment', () => {
    assert.equal(tagger.jobIdFrom(tagger.tag('42')), '42');
    assert.equal(tagger.jobIdFrom(tagger.tag('42', 'hello world')), '42');
    assert.equal(tagger.jobIdFrom(tagger.tag('123456789012345678')), '123456789012345678');
  });
  it('job=1 and job=12 are different jobs', () => {
    assert.equal(tagger.jobIdFrom(tagger.tag('12')), '12');
    assert.equal(tagger.jobIdFrom(tagger.tag('1')), '1');
    assert.notEqual(tagger.jobIdFrom(tagger.tag('12')), '1');
    assert.equal(tagger.jobIdFrom(tagger.tag('1', '2')), '1');
  });
  it('a user comment that looks like a tag does not change the job id', () => {
    assert.equal(tagger.jobIdFrom(tagger.tag('5', 'archipelago:prod-1:job=6')), '5');
  });
  it('does not match other instances\' tags, including ones its name is a prefix of', () => {
    for (const other of ['prod-2', 'prod-10', 'prod', 'prod-1x', 'x-prod-1']) {
      assert.equal(tagger.jobIdFrom(new JobTagger(other).tag('42')), null, other);
    }
    assert.equal(new JobTagger('prod').jobIdFrom(tagger.tag('42')), null);
  });
  it('does not match comments that are not exactly a tag', () => {
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
    ]) {
      assert.equal(tagger.jobIdFrom(comment), null, JSON.stringify(comment));
    }
    assert.equal(tagger.jobIdFrom(null), null);
    assert.equal(tagger.jobIdFrom(undefined), null);
  });
  it('accepts any whitespace after the id', () => {
    assert.equal(tagger.jobIdFrom('archipelago:prod-1:job=7\tnote'), '7');
  });
  it('refuses instance ids that could not be matched safely', () => {
    for (const bad of ['', 'Prod', 'a.b', 'a:b', 'a b', 'x'.repeat(33), '.*', 'a|b']) {
      assert.throws(() => new JobTagger(bad), /invalid instance id/, JSON.stringify(bad));
    }
    assert.doesNotThrow(() => new JobTagger('x'.repeat(32)));
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
  it('sameSecret compares exactly, including different lengths', () => {
    assert.equal(sameSecret('s3cret-value', 's3cret-value'), true);
    assert.equal(sameSecret('s3cret-value', 's3cret-valuE'), false);
    assert.equal(sameSecret('short', 'short-and-longer'), false);
    assert.equal(sameSecret('', ''), true);
    assert.equal(sameSecret('', 'x'), false);
  });
});
