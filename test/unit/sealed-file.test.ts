import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { readSecretFile } from '../../src/adapters/secrets/sealed-file';
import { parseIslandsFile } from '../../src/adapters/config/islands-file';
import { run } from '../../src/apps/tools/secrets';

const dir = mkdtempSync(join(tmpdir(), 'sealed-file-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, content: Buffer | string, mode = 0o600) => {
  const path = join(dir, name);
  writeFileSync(path, content, { mode });
  return path;
};
const keyA = file('a.key', randomBytes(32).toString('base64'));
const keyB = file('b.key', randomBytes(32).toString('hex'));
const envA = { ARCHIPELAGO_SECRETS_KEY_FILE: keyA };
const quiet = () => undefined;

describe('secret files sealed at rest with the envelope key', () => {
  it('seal in place: the file no longer holds the secret, keeps its mode, and reads back the same', () => {
    const secret = randomBytes(32);
    const path = file('jwt.key', secret, 0o600);
    assert.equal(run('seal', [path], envA, quiet), 0);
    const stored = readFileSync(path);
    assert.ok(!stored.includes(secret));
    assert.match(stored.toString(), /^archipelago-sealed:v1:/);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.deepEqual(readSecretFile(path, envA), secret);
    assert.equal(run('seal', [path], envA, quiet), 1, 'sealing twice is refused');
  });

  it('a clear file still reads as it is; a sealed one needs the key and refuses a wrong one', () => {
    const clear = file('clear.pem', 'PLAIN');
    assert.equal(readSecretFile(clear, {}).toString(), 'PLAIN');
    const sealed = file('s.key', 'x');
    run('seal', [sealed], envA, quiet);
    assert.throws(() => readSecretFile(sealed, {}), /no envelope key/);
    assert.throws(() => readSecretFile(sealed, { ARCHIPELAGO_SECRETS_KEY_FILE: keyB }), /not configured/);
  });

  it('rotation: with the new key current and the old one listed, reseal moves every file to the new key', () => {
    const path = file('rot.key', 'rotate me');
    run('seal', [path], envA, quiet);
    const rotating = { ARCHIPELAGO_SECRETS_KEY_FILE: keyB, ARCHIPELAGO_SECRETS_OLD_KEY_FILES: keyA };
    const lines: string[] = [];
    run('status', [path], rotating, (l) => lines.push(l));
    assert.match(lines[0], /old key/);
    assert.equal(run('reseal', [path], rotating, quiet), 0);
    assert.equal(readSecretFile(path, { ARCHIPELAGO_SECRETS_KEY_FILE: keyB }).toString(), 'rotate me', 'the old key is no longer needed');
    assert.throws(() => readSecretFile(path, envA), /not configured/);
  });

  it('the islands file reads sealed key files transparently', () => {
    const jwt = randomBytes(32);
    const jwtFile = file('island-jwt.key', jwt);
    run('seal', [jwtFile], envA, quiet);
    const islands = file(
      'islands.json',
      JSON.stringify({ islands: [{ name: 'sealed-a', rest: { url: 'http://127.0.0.1:1', jwtKeyFile: jwtFile }, partitions: ['debug'] }] }),
    );
    const previous = process.env.ARCHIPELAGO_SECRETS_KEY_FILE;
    process.env.ARCHIPELAGO_SECRETS_KEY_FILE = keyA;
    try {
      assert.deepEqual(parseIslandsFile(islands)[0].connection.rest?.jwtKey, jwt);
    } finally {
      if (previous === undefined) delete process.env.ARCHIPELAGO_SECRETS_KEY_FILE;
      else process.env.ARCHIPELAGO_SECRETS_KEY_FILE = previous;
    }
  });
});
