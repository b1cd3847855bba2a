import { readFileSync } from 'node:fs';
import { readSecretFile } from '../secrets/sealed-file';
import type { IslandConnection } from '../slurm/island-connection';
import { REST_API_VERSIONS, type RestApiVersion } from '../slurm/rest/rest-api-version';

/**
 * One island as configured: how to reach its SLURM, and the policy that applies to jobs on it.
 * Secrets (JWT key, SSH key) are read from files named here, never inlined in the JSON.
 */
export interface IslandSettings {
  connection: IslandConnection;
  partitions: string[];
  defaultPartition: string;
  /** Where a tenant's jobs may work and write; `{user}` is the owner's POSIX name. */
  workdirRoots: string[];
  /** How job output is read: straight from this machine's filesystem, or over SFTP as the owner. */
  files: 'local' | 'sftp';
  /** SLURM accounting (slurmdbd) is on: usage records are built from it (src/usage). */
  accounting: boolean;
  /**
   * Who may be a tenant here: accounts below `minUid` are system accounts, `deniedUsers` adds
   * service accounts to the built-in ones (SERVICE_ACCOUNTS and the island's read account).
   */
  tenants: TenantRules;
}

export interface TenantRules {
  minUid: number;
  deniedUsers: string[];
}

/** Debian's (and most distributions') first uid for people. */
export const DEFAULT_TENANT_RULES: TenantRules = { minUid: 1000, deniedUsers: [] };

/** What every island (configured or launched) is called. */
export const ISLAND_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

class IslandsFileError extends Error {
  constructor(file: string, where: string, reason: string) {
    super(`${file}: ${where}: ${reason}`);
    this.name = 'IslandsFileError';
  }
}

function readSecret(file: string, where: string, path: unknown): Buffer {
  if (typeof path !== 'string' || !path) throw new IslandsFileError(file, where, 'must name a file');
  try {
    return readSecretFile(path);
  } catch (error) {
    throw new IslandsFileError(file, where, `cannot read ${path}: ${(error as Error).message}`);
  }
}

function stringList(file: string, where: string, value: unknown, fallback?: string[]): string[] {
  if (value === undefined && fallback) return fallback;
  if (!Array.isArray(value) || value.length === 0 || !value.every((v) => typeof v === 'string' && v)) {
    throw new IslandsFileError(file, where, 'must be a non-empty list of strings');
  }
  return value as string[];
}

function positive(file: string, where: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new IslandsFileError(file, where, 'must be a positive integer');
  }
  return value;
}

function httpUrl(file: string, where: string, value: unknown): string {
  let parsed: URL | null = null;
  try {
    parsed = typeof value === 'string' ? new URL(value) : null;
  } catch {
    parsed = null;
  }
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    throw new IslandsFileError(file, where, 'must be an http:// or https:// URL');
  }
  return value as string;
}

function parseIsland(file: string, raw: any, index: number): IslandSettings {
  const at = (field: string) => `islands[${index}].${field}`;
  if (typeof raw?.name !== 'string' || !ISLAND_NAME.test(raw.name)) {
    throw new IslandsFileError(file, at('name'), 'lowercase letters, digits and dashes');
  }
  const adapter = raw.adapter ?? 'rest';
  if (adapter !== 'rest' && adapter !== 'ssh') throw new IslandsFileError(file, at('adapter'), 'rest or ssh');
  const connection: IslandConnection = { name: raw.name, adapter, readUser: raw.readUser ?? 'archipelago' };
  if (raw.rest) {
    connection.rest = {
      url: httpUrl(file, at('rest.url'), raw.rest.url),
      jwtKey: readSecret(file, at('rest.jwtKeyFile'), raw.rest.jwtKeyFile),
      tokenLifetimeSeconds: positive(file, at('rest.tokenLifetimeSeconds'), raw.rest.tokenLifetimeSeconds, 120),
      connections: positive(file, at('rest.connections'), raw.rest.connections, 8),
      timeoutMs: positive(file, at('rest.timeoutMs'), raw.rest.timeoutMs, 15000),
    };
    if (raw.rest.apiVersion !== undefined && raw.rest.apiVersion !== 'auto') {
      if (!REST_API_VERSIONS.includes(raw.rest.apiVersion)) {
        throw new IslandsFileError(file, at('rest.apiVersion'), `"auto" or one of ${REST_API_VERSIONS.join(', ')}`);
      }
      connection.rest.apiVersion = raw.rest.apiVersion as RestApiVersion;
    }
  }
  if (raw.ssh) {
    const pin = raw.ssh.hostKeySha256File
      ? readSecret(file, at('ssh.hostKeySha256File'), raw.ssh.hostKeySha256File).toString('utf8').trim()
      : raw.ssh.hostKeySha256;
    if (typeof pin !== 'string' || !pin.startsWith('SHA256:')) {
      throw new IslandsFileError(file, at('ssh.hostKeySha256'), 'a pinned host key (SHA256:...) is required');
    }
    connection.ssh = {
      host: String(raw.ssh.host ?? '127.0.0.1'),
      port: positive(file, at('ssh.port'), raw.ssh.port, 22),
      privateKey: readSecret(file, at('ssh.privateKeyFile'), raw.ssh.privateKeyFile),
      hostKeySha256: pin,
      commandEnvironment: raw.ssh.commandEnvironment ?? {},
      maxConnectionsPerUser: positive(file, at('ssh.maxConnectionsPerUser'), raw.ssh.maxConnectionsPerUser, 4),
      timeoutMs: positive(file, at('ssh.timeoutMs'), raw.ssh.timeoutMs, 20000),
    };
  }
  if (!connection[adapter as 'rest' | 'ssh']) {
    throw new IslandsFileError(file, at(adapter), `adapter "${adapter}" needs its "${adapter}" section`);
  }
  if (raw.fallback !== undefined) {
    if (raw.fallback !== 'ssh' || adapter !== 'rest') throw new IslandsFileError(file, at('fallback'), '"ssh", on a rest island only');
    if (!connection.ssh) throw new IslandsFileError(file, at('fallback'), 'the ssh fallback needs the ssh section');
    connection.fallback = 'ssh';
  }
  const partitions = stringList(file, at('partitions'), raw.partitions);
  const defaultPartition = raw.defaultPartition ?? partitions[0];
  if (!partitions.includes(defaultPartition)) {
    throw new IslandsFileError(file, at('defaultPartition'), 'must be one of the partitions');
  }
  const files = raw.files ?? (adapter === 'ssh' ? 'sftp' : 'local');
  if (files !== 'local' && files !== 'sftp') throw new IslandsFileError(file, at('files'), 'local or sftp');
  if (files === 'sftp' && !connection.ssh) {
    throw new IslandsFileError(file, at('files'), 'sftp needs the ssh section');
  }
  const minUid = raw.minUid ?? DEFAULT_TENANT_RULES.minUid;
  if (!Number.isInteger(minUid) || minUid < 1 || minUid > 2 ** 31)
    throw new IslandsFileError(file, at('minUid'), 'a uid of at least 1 (root is never a tenant)');
  const deniedUsers = raw.deniedUsers === undefined ? [] : stringList(file, at('deniedUsers'), raw.deniedUsers);
  return {
    connection,
    partitions,
    defaultPartition,
    workdirRoots: stringList(file, at('workdirRoots'), raw.workdirRoots, ['/home/{user}']),
    files,
    accounting: raw.accounting === true,
    tenants: { minUid, deniedUsers },
  };
}

export function parseIslandsFile(file: string): IslandSettings[] {
  let document: any;
  try {
    document = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new IslandsFileError(file, '$', `not readable JSON: ${(error as Error).message}`);
  }
  if (!Array.isArray(document?.islands)) throw new IslandsFileError(file, 'islands', 'must be a list');
  const islands = document.islands.map((raw: any, i: number) => parseIsland(file, raw, i));
  const names = new Set<string>();
  for (const island of islands) {
    if (names.has(island.connection.name)) {
      throw new IslandsFileError(file, 'islands', `duplicate island ${island.connection.name}`);
    }
    names.add(island.connection.name);
  }
  return islands;
}
