import { existsSync, readFileSync } from 'node:fs';

type Env = Record<string, string | undefined>;

/** A problem with the envelope-key settings, naming the variable. */
export class EnvelopeKeyError extends Error {
  constructor(
    readonly variable: string,
    reason: string,
  ) {
    super(`${variable}: ${reason}`);
    this.name = 'EnvelopeKeyError';
  }
}

/** A 32-byte key from a file: raw bytes, 64 hex digits or base64 (what `openssl rand -base64 32` prints). */
function keyFromFile(variable: string, file: string): Buffer {
  if (!existsSync(file)) throw new EnvelopeKeyError(variable, `file ${file} does not exist`);
  const raw = readFileSync(file);
  if (raw.length === 32) return raw;
  const text = raw.toString('utf8').trim();
  const decoded = /^[0-9a-f]{64}$/i.test(text) ? Buffer.from(text, 'hex') : Buffer.from(text, 'base64');
  if (decoded.length !== 32) throw new EnvelopeKeyError(variable, `${file} must hold a 32-byte key (raw, hex or base64)`);
  return decoded;
}

/**
 * The envelope keys: ARCHIPELAGO_SECRETS_KEY_FILE (seals and opens) first, then
 * ARCHIPELAGO_SECRETS_OLD_KEY_FILES (open only, during a rotation). Empty when none is configured.
 */
export function envelopeKeys(env: Env): Buffer[] {
  const current = env.ARCHIPELAGO_SECRETS_KEY_FILE;
  const old = (env.ARCHIPELAGO_SECRETS_OLD_KEY_FILES ?? '')
    .split(',')
    .map((f) => f.trim())
    .filter(Boolean);
  if (!current) {
    if (old.length) throw new EnvelopeKeyError('ARCHIPELAGO_SECRETS_OLD_KEY_FILES', 'needs ARCHIPELAGO_SECRETS_KEY_FILE (the key that seals)');
    return [];
  }
  return [keyFromFile('ARCHIPELAGO_SECRETS_KEY_FILE', current), ...old.map((f) => keyFromFile('ARCHIPELAGO_SECRETS_OLD_KEY_FILES', f))];
}
