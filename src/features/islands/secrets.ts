import type { AppConfig } from '../../adapters/config/config';
import { SecretBox } from '../../adapters/secrets/secret-box';

export const SECRET_BOX = Symbol('SECRET_BOX');

/** The envelope box, or null when no key is configured (then nothing may be sealed or opened). */
export function secretBoxFrom(config: AppConfig): SecretBox | null {
  return config.secretKeys.length ? new SecretBox(config.secretKeys) : null;
}

/** What binds a sealed island JWT key to its row. */
export const islandJwtContext = (island: string) => `island:${island}:jwt`;
