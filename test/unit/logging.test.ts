import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';

import { JsonLogger } from '../../src/adapters/logging/json-logger';
import { withLogContext } from '../../src/adapters/logging/log-context';
import { mayHoldSecret, redact, redactRecord, REDACTED, redactText, TEXT_PATTERNS } from '../../src/adapters/logging/redact';
import { StdoutLines } from '../../src/adapters/logging/stdout-lines';

const MNEMONIC = 'abandon ability able about above absent absorb abstract absurd abuse access accident';
const API_KEY = 'ak_Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdo';
const PEM = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;

function capture(minimum?: 'log' | 'debug' | 'warn') {
  const lines: string[] = [];
  const logger = new JsonLogger(
    minimum,
    (line) => lines.push(line),
    () => new Date('2026-01-02T03:04:05.000Z'),
  );
  return { logger, lines, entries: () => lines.map((l) => JSON.parse(l)) };
}

describe('redaction', () => {
  it('masks secret-named fields at any depth, whatever they hold', () => {
    const out = redact({
      headers: { Authorization: 'Bearer abc', 'x-api-key': 'k', accept: 'text/plain' },
      body: { password: 'hunter2', nested: [{ privateKey: PEM, mnemonic: MNEMONIC, apiKey: API_KEY, note: 'ok' }] },
      token: 'jt_x',
      count: 3,
    });
    assert.deepEqual(out, {
      headers: { Authorization: REDACTED, 'x-api-key': REDACTED, accept: 'text/plain' },
      body: { password: REDACTED, nested: [{ privateKey: REDACTED, mnemonic: REDACTED, apiKey: REDACTED, note: 'ok' }] },
      token: REDACTED,
      count: 3,
    });
  });

  it('masks secrets inside free text and leaves the rest readable', () => {
    assert.equal(redactText(`calling with Authorization: Bearer ${API_KEY}`), `calling with Authorization: Bearer ${REDACTED}`);
    assert.equal(redactText(`key ${API_KEY} was revoked`), `key ${REDACTED} was revoked`);
    assert.equal(redactText('join with jt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA now'), `join with ${REDACTED} now`);
    assert.equal(redactText('url postgres://u@h/db?password=s3cret&x=1'), `url postgres://u@h/db?password=${REDACTED}&x=1`);
    assert.equal(redactText('{"token":"abc.def","id":"1"}'), `{"token":"${REDACTED}","id":"1"}`);
    assert.equal(redactText(`wallet mnemonic: ${MNEMONIC}`), `wallet mnemonic: ${REDACTED}`);
    assert.equal(redactText(`loaded ${PEM}from disk`), `loaded ${REDACTED}\nfrom disk`);
    assert.equal(redactText('job 42: PENDING (Resources) on local-a'), 'job 42: PENDING (Resources) on local-a');
  });

  it('skips the patterns only for text none of them could match', () => {
    const fragments = [
      'POST /v1/jobs 202',
      'job 42: ACCEPTED -> QUEUED',
      'Bearer abc.def',
      'BASIC Zm9v',
      'ak_' + 'x'.repeat(20),
      'adm_' + 'y'.repeat(16),
      'jt_' + 'z'.repeat(30),
      MNEMONIC,
      'api-key=1',
      'APIKEY: 2',
      '"token":"t"',
      'Secret=s',
      'password=p',
      'PASSWD:x',
      'passphrase=q',
      'mnemonic=m',
      'private_key=k',
      'Private-Key: k',
      'jwt=j',
      PEM.slice(0, 60),
      'x',
      ' ',
      '=',
      ':',
      '_',
      'the quick brown fox',
    ];
    let state = 7;
    const pick = () => fragments[(state = (state * 1103515245 + 12345) % 2 ** 31) % fragments.length];
    for (let i = 0; i < 5000; i++) {
      const text = Array.from({ length: 1 + (i % 5) }, pick).join(i % 2 ? ' ' : '');
      const matched = TEXT_PATTERNS.some(([pattern]) => new RegExp(pattern.source, pattern.flags).test(text));
      if (matched) assert.ok(mayHoldSecret(text), `a pattern matches but the text was skipped: ${text}`);
    }
    assert.equal(mayHoldSecret('POST /v1/jobs 202'), false);
  });

  it('masks a log entry exactly as redact does, and hands back a clean flat entry uncopied', () => {
    const values = [null, undefined, '', 'plain', 42, true, `Bearer ${API_KEY}`, MNEMONIC, { password: 'p' }, [API_KEY], new Error(API_KEY)];
    const keys = ['msg', 'token', 'Api-Key', 'note', 'status', 'password', 'requestId'];
    let state = 11;
    const pick = <T>(list: readonly T[]) => list[(state = (state * 1103515245 + 12345) % 2 ** 31) % list.length];
    for (let i = 0; i < 2000; i++) {
      const entry: Record<string, unknown> = {};
      for (let k = 0; k < 1 + (i % 5); k++) entry[pick(keys)] = pick(values);
      assert.deepEqual(redactRecord(entry), redact(entry), JSON.stringify(Object.keys(entry)));
    }
    const clean = { level: 'info', msg: 'POST /v1/jobs 202', status: 202, token: null, secret: '' };
    assert.equal(redactRecord(clean), clean);
    const dirty = { msg: 'x', token: 't' };
    assert.deepEqual(redactRecord(dirty), { msg: 'x', token: REDACTED });
    assert.equal(dirty.token, 't', "the caller's object is not changed");
  });

  it('survives cycles, errors and buffers', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    assert.deepEqual(redact(cyclic), { a: 1, self: '[…]' });
    const error = redact(new Error(`bad key ${API_KEY}`)) as { message: string; stack: string };
    assert.equal(error.message, `bad key ${REDACTED}`);
    assert.ok(!error.stack.includes(API_KEY));
    assert.equal(redact(Buffer.from('secret')), '[6 bytes]');
  });
});

describe('JSON logger', () => {
  it('writes one JSON object per line with level, time, context and msg', () => {
    const { logger, lines, entries } = capture();
    logger.log('started', 'archipelago');
    logger.warn('careful');
    assert.equal(lines.length, 2);
    assert.ok(lines.every((l) => l.endsWith('\n') && !l.slice(0, -1).includes('\n')));
    assert.deepEqual(entries()[0], { level: 'info', time: '2026-01-02T03:04:05.000Z', context: 'archipelago', msg: 'started' });
    assert.equal(entries()[1].level, 'warn');
  });

  it('never writes a secret, whether in the message, a field or an error', () => {
    const { logger, lines } = capture();
    logger.log({ msg: `login with ${API_KEY}`, headers: { authorization: `Bearer ${API_KEY}` }, mnemonic: MNEMONIC }, 'auth');
    logger.error(`request failed: password=hunter2 Bearer ${API_KEY}`, `Error: x\n    at f (${API_KEY})`, 'http');
    logger.warn(new Error(`cannot parse ${PEM}`));
    const all = lines.join('');
    for (const secret of [API_KEY, 'hunter2', MNEMONIC, 'PRIVATE KEY-----\nMC4']) assert.ok(!all.includes(secret), `leaked ${secret.slice(0, 12)}`);
    assert.match(all, /\[REDACTED\]/);
  });

  it('writes bigint fields as their digits, and masks a secret-named field every time it comes back', () => {
    const { logger, entries } = capture();
    logger.log({ msg: 'sizes', bytes: 12345678901234567890n, nested: { id: 7n } });
    for (let i = 0; i < 3; i++) logger.log({ msg: 'again', Token: `t-${i}`, note: 'plain' });
    assert.deepEqual(entries()[0], { level: 'info', time: '2026-01-02T03:04:05.000Z', msg: 'sizes', bytes: '12345678901234567890', nested: { id: '7' } });
    assert.deepEqual(
      entries()
        .slice(1)
        .map((e) => [e.Token, e.note]),
      [
        ['[REDACTED]', 'plain'],
        ['[REDACTED]', 'plain'],
        ['[REDACTED]', 'plain'],
      ],
    );
  });

  it('carries the request id and job id of the context, and the job of "job N" messages', () => {
    const { logger, entries } = capture();
    withLogContext({ requestId: 'req-1' }, () => {
      logger.log('inside');
      withLogContext({ jobId: '7' }, () => logger.log('deeper'));
    });
    logger.warn('job 42: island unreachable', 'DispatchService');
    logger.log({ msg: 'explicit', jobId: '9' });
    const [inside, deeper, fromText, explicit] = entries();
    assert.equal(inside.requestId, 'req-1');
    assert.equal(inside.jobId, undefined);
    assert.deepEqual([deeper.requestId, deeper.jobId], ['req-1', '7']);
    assert.equal(fromText.jobId, '42');
    assert.equal(explicit.jobId, '9');
  });

  it('takes the last string parameter as the context and, for errors, a stack before it', () => {
    const { logger, entries } = capture();
    logger.error('failed', 'Error: x\n    at f (file.js:1:1)', 'http');
    logger.error('failed again', 'DispatchService');
    logger.log({ msg: 'fields', message: 'ignored', a: 1 }, 'ctx');
    const [withStack, withoutStack, fields] = entries();
    assert.deepEqual([withStack.context, withStack.stack], ['http', 'Error: x\n    at f (file.js:1:1)']);
    assert.deepEqual([withoutStack.context, withoutStack.stack], ['DispatchService', undefined]);
    assert.deepEqual(fields, { level: 'info', time: '2026-01-02T03:04:05.000Z', context: 'ctx', msg: 'fields', a: 1 });
  });

  it('honours the minimum level', () => {
    const { logger, entries } = capture('warn');
    logger.log('quiet');
    logger.debug('quieter');
    logger.error('loud');
    assert.deepEqual(
      entries().map((e) => e.level),
      ['error'],
    );
  });
});

describe('standard output lines', () => {
  it('writes the lines of one turn in one write, in order, and holds nothing past the turn', async () => {
    const writes: string[] = [];
    const out = { write: (text: string) => writes.push(text) } as unknown as NodeJS.WritableStream;
    const lines = new StdoutLines(out);
    lines.write('a\n');
    lines.write('b\n');
    assert.deepEqual(writes, []);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(writes, ['a\nb\n']);
    lines.write('c\n');
    lines.flush();
    assert.deepEqual(writes, ['a\nb\n', 'c\n']);
  });

  it('writes at once when a burst outgrows the buffer', () => {
    const writes: string[] = [];
    const lines = new StdoutLines({ write: (text: string) => writes.push(text) } as unknown as NodeJS.WritableStream);
    const big = 'x'.repeat(40 * 1024) + '\n';
    lines.write(big);
    lines.write(big);
    assert.equal(writes.length, 1);
    assert.equal(writes[0], big + big);
  });

  it('writes what is held when the process exits', () => {
    const module = join(__dirname, '../../src/adapters/logging/stdout-lines.js');
    const script = `const { StdoutLines } = require(${JSON.stringify(module)}); new StdoutLines().write('last words\\n'); process.exit(3);`;
    const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    assert.equal(child.status, 3);
    assert.equal(child.stdout, 'last words\n');
  });
});
