import { readFileSync } from 'node:fs';
import { envelopeKeys } from './envelope-keys';
import { SecretBox } from './secret-box';

/**
 * Secret files (island JWT and SSH keys, the provider's signing key, the chain key) may be stored
 * sealed with the envelope key instead of in clear: `archipelago-sealed:v1:<base64>` on one line,
 * written by `npm run secrets -- seal`. Every reader goes through readSecretFile, so a file can be
 * sealed in place without any other change; a clear file keeps working.
 */
export const SEALED_PREFIX = 'archipelago-sealed:v1:';
/** Files are not bound to a row or a path (they are copied and mounted): one context for all. */
const FILE_CONTEXT = 'archipelago:secret-file';

type Env = Record<string, string | undefined>;

export function isSealed(content: Buffer | string): boolean {
  return content.toString('utf8', 0, SEALED_PREFIX.length) === SEALED_PREFIX;
}

export function sealSecret(box: SecretBox, plaintext: Buffer): string {
  return `${SEALED_PREFIX}${box.seal(plaintext, FILE_CONTEXT).toString('base64')}\n`;
}

/** The sealed bytes of a sealed file's content. */
export function sealedPayload(content: Buffer | string): Buffer {
  return Buffer.from(content.toString().trim().slice(SEALED_PREFIX.length), 'base64');
}

export function openSealed(box: SecretBox, content: Buffer | string): Buffer {
  return box.open(sealedPayload(content), FILE_CONTEXT);
}

/** The secret in `path`, opened with the configured envelope keys when it is sealed. */
export function readSecretFile(path: string, env: Env = process.env): Buffer {
  const content = readFileSync(path);
  if (!isSealed(content)) return content;
  const keys = envelopeKeys(env);
  if (keys.length === 0) throw new Error(`${path} is sealed, but no envelope key is configured (ARCHIPELAGO_SECRETS_KEY_FILE)`);
  return openSealed(new SecretBox(keys), content);
}
