import { chmodSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { envelopeKeys } from '../../adapters/secrets/envelope-keys';
import { isSealed, openSealed, sealedPayload, sealSecret } from '../../adapters/secrets/sealed-file';
import { SecretBox } from '../../adapters/secrets/secret-box';

/**
 * Seals secret files at rest with the envelope key (ARCHIPELAGO_SECRETS_KEY_FILE), and re-seals them
 * with a new key during a rotation (old keys in ARCHIPELAGO_SECRETS_OLD_KEY_FILES):
 *
 *   npm run secrets -- seal FILE...     clear → sealed, in place (mode kept, written atomically)
 *   npm run secrets -- reseal FILE...   sealed with any configured key → sealed with the current one
 *   npm run secrets -- status FILE...   clear, sealed with the current key, or with an old one
 *
 * Exit codes: 0 done, 1 a file could not be handled, 2 usage.
 */
function writeInPlace(path: string, content: string): void {
  const mode = statSync(path).mode & 0o777;
  const temporary = `${path}.seal-${process.pid}`;
  writeFileSync(temporary, content, { mode });
  chmodSync(temporary, mode);
  renameSync(temporary, path);
}

export function run(command: string, files: string[], env: Record<string, string | undefined>, out: (line: string) => void): number {
  const keys = envelopeKeys(env);
  if (keys.length === 0) throw new Error('ARCHIPELAGO_SECRETS_KEY_FILE is not set: there is no envelope key to seal with');
  const box = new SecretBox(keys);
  let failed = 0;
  for (const file of files) {
    try {
      const content = readFileSync(file);
      const sealed = isSealed(content);
      if (command === 'status') {
        out(`${file}: ${!sealed ? 'clear' : box.isStale(sealedPayload(content)) ? 'sealed with an old key' : 'sealed'}`);
      } else if (command === 'seal') {
        if (sealed) throw new Error('already sealed');
        writeInPlace(file, sealSecret(box, content));
        out(`${file}: sealed`);
      } else {
        if (!sealed) throw new Error('not sealed (use seal)');
        writeInPlace(file, sealSecret(box, openSealed(box, content)));
        out(`${file}: re-sealed with the current key`);
      }
    } catch (error) {
      failed++;
      out(`${file}: ${(error as Error).message}`);
    }
  }
  return failed ? 1 : 0;
}

if (require.main === module) {
  const [command, ...files] = process.argv.slice(2);
  if (!['seal', 'reseal', 'status'].includes(command ?? '') || files.length === 0) {
    console.error('usage: secrets seal|reseal|status FILE...   (envelope key: ARCHIPELAGO_SECRETS_KEY_FILE; old keys: ARCHIPELAGO_SECRETS_OLD_KEY_FILES)');
    process.exit(2);
  }
  try {
    process.exit(run(command, files, process.env, (line) => console.log(line)));
  } catch (error) {
    console.error((error as Error).message);
    process.exit(2);
  }
}
