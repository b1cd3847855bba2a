import { availableParallelism } from 'node:os';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { loadConfig } from '../../src/adapters/config/config';
import { ConfigError } from '../../src/adapters/config/config-error';
import { DEFAULT_PRICES } from '../../src/adapters/config/usage-settings';
import { parseIslandsFile } from '../../src/adapters/config/islands-file';
import { chainSettings } from '../../src/adapters/chain/chain-settings';
import { DEFAULT_LIMITS } from '../../src/core/ratelimit/rate-limit-policy';

let dir: string;
let jwtFile: string;
let sshKeyFile: string;
let pinFile: string;
let counter = 0;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'archipelago-config-test-'));
  jwtFile = join(dir, 'jwt.key');
  writeFileSync(jwtFile, 'jwt-secret-bytes');
  sshKeyFile = join(dir, 'id_ed25519');
  writeFileSync(sshKeyFile, '-----BEGIN OPENSSH PRIVATE KEY-----\nfake\n-----END OPENSSH PRIVATE KEY-----\n');
  pinFile = join(dir, 'host_key.sha256');
  writeFileSync(pinFile, '  SHA256:pinnedFromFile \n');
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Writes `content` (JSON-encoded unless a string) to a fresh file and returns its path. */
function file(content: unknown, name = `f${++counter}.json`): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

const restIsland = (over: Record<string, unknown> = {}) => ({
  name: 'island-a',
  rest: { url: 'http://127.0.0.1:7820', jwtKeyFile: jwtFile },
  partitions: ['debug', 'gpu'],
  ...over,
});
const sshIsland = (over: Record<string, unknown> = {}) => ({
  name: 'island-s',
  adapter: 'ssh',
  ssh: { host: 'login.example', privateKeyFile: sshKeyFile, hostKeySha256: 'SHA256:abc' },
  partitions: ['batch'],
  ...over,
});

const islands = (...list: unknown[]) => parseIslandsFile(file({ islands: list }));

function islandsError(list: unknown[] | string, where: RegExp | string, reason?: RegExp): void {
  const path = typeof list === 'string' ? file(list) : file({ islands: list });
  assert.throws(
    () => parseIslandsFile(path),
    (error: unknown) => {
      assert.ok(error instanceof Error);
      assert.equal(error.name, 'IslandsFileError');
      assert.ok(error.message.startsWith(`${path}: `), error.message);
      if (typeof where === 'string') assert.ok(error.message.includes(`: ${where}: `), error.message);
      else assert.match(error.message, where);
      if (reason) assert.match(error.message, reason);
      return true;
    },
  );
}

describe('parseIslandsFile: valid files', () => {
  it('a REST island with defaults', () => {
    const [island] = islands(restIsland());
    assert.equal(island.connection.name, 'island-a');
    assert.equal(island.connection.adapter, 'rest');
    assert.equal(island.connection.readUser, 'archipelago');
    assert.equal(island.connection.ssh, undefined);
    assert.equal(island.connection.rest?.url, 'http://127.0.0.1:7820');
    assert.equal(island.connection.rest?.jwtKey.toString('utf8'), 'jwt-secret-bytes');
    assert.equal(island.connection.rest?.tokenLifetimeSeconds, 120);
    assert.equal(island.connection.rest?.connections, 8);
    assert.equal(island.connection.rest?.timeoutMs, 15000);
    assert.deepEqual(island.partitions, ['debug', 'gpu']);
    assert.equal(island.defaultPartition, 'debug');
    assert.deepEqual(island.workdirRoots, ['/home/{user}']);
    assert.equal(island.files, 'local');
    assert.deepEqual(island.tenants, { minUid: 1000, deniedUsers: [] });
  });
  it('tenant rules: a minimum uid and more service accounts', () => {
    const [island] = islands(restIsland({ minUid: 5000, deniedUsers: ['backup', 'svc-ci'] }));
    assert.deepEqual(island.tenants, { minUid: 5000, deniedUsers: ['backup', 'svc-ci'] });
  });
  it('explicit REST settings, default partition, roots and read user', () => {
    const [island] = islands(
      restIsland({
        rest: { url: 'https://rest.example:6820', jwtKeyFile: jwtFile, tokenLifetimeSeconds: 30, connections: 2, timeoutMs: 500 },
        defaultPartition: 'gpu',
        workdirRoots: ['/home/{user}', '/scratch/{user}'],
        readUser: 'slurmread',
      }),
    );
    assert.deepEqual(
      { ...island.connection.rest, jwtKey: undefined },
      { url: 'https://rest.example:6820', jwtKey: undefined, tokenLifetimeSeconds: 30, connections: 2, timeoutMs: 500 },
    );
    assert.equal(island.defaultPartition, 'gpu');
    assert.deepEqual(island.workdirRoots, ['/home/{user}', '/scratch/{user}']);
    assert.equal(island.connection.readUser, 'slurmread');
  });
  it('an SSH island: files default to sftp, SSH defaults applied', () => {
    const [island] = islands(sshIsland());
    assert.equal(island.connection.adapter, 'ssh');
    assert.equal(island.files, 'sftp');
    const ssh = island.connection.ssh!;
    assert.equal(ssh.host, 'login.example');
    assert.equal(ssh.port, 22);
    assert.equal(ssh.hostKeySha256, 'SHA256:abc');
    assert.match(ssh.privateKey.toString('utf8'), /OPENSSH PRIVATE KEY/);
    assert.deepEqual(ssh.commandEnvironment, {});
    assert.equal(ssh.maxConnectionsPerUser, 4);
    assert.equal(ssh.timeoutMs, 20000);
  });
  it('reads the host key pin from a file, trimmed', () => {
    const [island] = islands(sshIsland({ ssh: { privateKeyFile: sshKeyFile, hostKeySha256File: pinFile } }));
    assert.equal(island.connection.ssh?.hostKeySha256, 'SHA256:pinnedFromFile');
    assert.equal(island.connection.ssh?.host, '127.0.0.1');
  });
  it('an SSH island may read files locally', () => {
    assert.equal(islands(sshIsland({ files: 'local' }))[0].files, 'local');
  });
  it('a REST island with an ssh section may use sftp', () => {
    const [island] = islands(restIsland({ ssh: sshIsland().ssh, files: 'sftp' }));
    assert.equal(island.connection.adapter, 'rest');
    assert.equal(island.files, 'sftp');
  });
  it('a REST island may fall back to its ssh section; without the field it does not', () => {
    assert.equal(islands(restIsland({ ssh: sshIsland().ssh, fallback: 'ssh' }))[0].connection.fallback, 'ssh');
    assert.equal(islands(restIsland({ ssh: sshIsland().ssh }))[0].connection.fallback, undefined);
  });
  it('several islands keep their order', () => {
    assert.deepEqual(
      islands(restIsland(), sshIsland()).map((i) => i.connection.name),
      ['island-a', 'island-s'],
    );
  });
  it('an empty list is valid here (loadConfig decides whether that is acceptable)', () => {
    assert.deepEqual(islands(), []);
  });
});

describe('parseIslandsFile: errors name the file and the field', () => {
  it('not JSON', () => islandsError('{ nope', '$', /not readable JSON/));
  it('no islands list', () => {
    islandsError('{"islands": {}}', 'islands', /must be a list/);
    islandsError('[]', 'islands', /must be a list/);
  });
  it('tenant rules that cannot be', () => {
    islandsError([restIsland({ minUid: 0 })], /islands\[0\]\.minUid/, /root is never a tenant/);
    islandsError([restIsland({ minUid: '1000' })], /islands\[0\]\.minUid/);
    islandsError([restIsland({ deniedUsers: 'munge' })], /islands\[0\]\.deniedUsers/);
  });
  it('duplicate names', () => {
    islandsError([restIsland(), sshIsland({ name: 'island-a' })], 'islands', /duplicate island island-a/);
  });
  it('bad names', () => {
    for (const name of ['Upper', '-lead', '', 'a_b', 'x'.repeat(64), 7]) {
      islandsError([restIsland({ name })], 'islands[0].name');
    }
    assert.equal(islands(restIsland({ name: 'x'.repeat(63) }))[0].connection.name.length, 63);
  });
  it('unknown adapter', () => islandsError([restIsland({ adapter: 'grpc' })], 'islands[0].adapter'));
  it('the rest adapter without a rest section', () => {
    islandsError([restIsland({ rest: undefined })], 'islands[0].rest', /needs its "rest" section/);
  });
  it('the ssh adapter without an ssh section', () => {
    islandsError([sshIsland({ ssh: undefined })], 'islands[0].ssh', /needs its "ssh" section/);
  });
  it('ssh without a pinned host key, or with a malformed one', () => {
    islandsError([sshIsland({ ssh: { privateKeyFile: sshKeyFile } })], 'islands[0].ssh.hostKeySha256', /pinned host key/);
    islandsError([sshIsland({ ssh: { privateKeyFile: sshKeyFile, hostKeySha256: 'MD5:aa' } })], 'islands[0].ssh.hostKeySha256');
    islandsError([sshIsland({ ssh: { privateKeyFile: sshKeyFile, hostKeySha256File: file('not-a-pin', 'bad.pin') } })], 'islands[0].ssh.hostKeySha256');
  });
  it('ssh without a private key file, or an unreadable one', () => {
    islandsError([sshIsland({ ssh: { hostKeySha256: 'SHA256:abc' } })], 'islands[0].ssh.privateKeyFile', /must name a file/);
    islandsError([sshIsland({ ssh: { hostKeySha256: 'SHA256:abc', privateKeyFile: join(dir, 'missing') } })], 'islands[0].ssh.privateKeyFile', /cannot read/);
  });
  it('an unreadable JWT key file', () => {
    islandsError([restIsland({ rest: { url: 'http://x', jwtKeyFile: join(dir, 'nope.key') } })], 'islands[0].rest.jwtKeyFile', /cannot read/);
    islandsError([restIsland({ rest: { url: 'http://x' } })], 'islands[0].rest.jwtKeyFile', /must name a file/);
  });
  it('a missing or malformed REST URL', () => {
    islandsError([restIsland({ rest: { jwtKeyFile: jwtFile } })], 'islands[0].rest.url');
    islandsError([restIsland({ rest: { url: 'not a url', jwtKeyFile: jwtFile } })], 'islands[0].rest.url');
    islandsError([restIsland({ rest: { url: 'ftp://host', jwtKeyFile: jwtFile } })], 'islands[0].rest.url');
  });
  it('sftp without an ssh section', () => {
    islandsError([restIsland({ files: 'sftp' })], 'islands[0].files', /sftp needs the ssh section/);
  });
  it('an ssh fallback without the ssh section, on an ssh island, or of another kind', () => {
    islandsError([restIsland({ fallback: 'ssh' })], 'islands[0].fallback', /needs the ssh section/);
    islandsError([sshIsland({ fallback: 'ssh' })], 'islands[0].fallback');
    islandsError([restIsland({ ssh: sshIsland().ssh, fallback: 'grpc' })], 'islands[0].fallback');
  });
  it('unknown files mode', () => islandsError([restIsland({ files: 'nfs' })], 'islands[0].files'));
  it('a default partition that is not one of the partitions', () => {
    islandsError([restIsland({ defaultPartition: 'bigmem' })], 'islands[0].defaultPartition', /one of the partitions/);
  });
  it('empty or malformed partition and root lists', () => {
    islandsError([restIsland({ partitions: [] })], 'islands[0].partitions');
    islandsError([restIsland({ partitions: undefined })], 'islands[0].partitions');
    islandsError([restIsland({ partitions: ['debug', ''] })], 'islands[0].partitions');
    islandsError([restIsland({ workdirRoots: [] })], 'islands[0].workdirRoots');
    islandsError([restIsland({ workdirRoots: [3] })], 'islands[0].workdirRoots');
  });
  it('non-positive or non-integer numbers', () => {
    for (const value of [0, -1, 1.5, '30', null]) {
      islandsError([restIsland({ rest: { url: 'http://x', jwtKeyFile: jwtFile, timeoutMs: value } })], 'islands[0].rest.timeoutMs', /positive integer/);
    }
    islandsError([sshIsland({ ssh: { ...sshIsland().ssh, port: 0 } })], 'islands[0].ssh.port');
  });
  it('points at the right island in the list', () => {
    islandsError([restIsland(), sshIsland({ partitions: 'batch' })], 'islands[1].partitions');
  });
});

describe('loadConfig', () => {
  /** An env that names a valid islands file, so nothing depends on /etc on this machine. */
  const env = (over: Record<string, string | undefined> = {}) => ({ ARCHIPELAGO_ISLANDS_FILE: file({ islands: [restIsland()] }), ...over });

  function configError(over: Record<string, string | undefined>, variable: string, reason?: RegExp): void {
    assert.throws(
      () => loadConfig(env(over)),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError, String(error));
        assert.equal(error.variable, variable);
        assert.ok(error.message.startsWith(`${variable}: `));
        if (reason) assert.match(error.message, reason);
        return true;
      },
    );
  }

  it('defaults: the embedded local stack', () => {
    const config = loadConfig(env());
    assert.deepEqual(
      { ...config, islands: config.islands.map((i) => i.connection.name) },
      {
        role: 'all',
        http: { host: '127.0.0.1', port: 8080, bodyLimitBytes: 2 * 1024 * 1024, smallBodyLimitBytes: 64 * 1024, trustProxy: false, processes: 1 },
        databaseUrl: 'postgres://postgres@127.0.0.1:55432/archipelago',
        redisUrl: 'redis://127.0.0.1:56379',
        bootstrapAdminKey: null,
        islands: ['island-a'],
        jobs: {
          maxScriptBytes: 1024 * 1024,
          defaultEnvironment: { PATH: '/usr/local/bin:/usr/bin:/bin' },
          outputReads: { concurrency: 2, perUser: 1, timeoutMs: 10000 },
        },
        dispatch: {
          concurrency: 8,
          leaseSeconds: 30,
          reconcileIntervalMs: 15000,
          retry: { baseDelayMs: 2000, maxDelayMs: 10000, maxAttempts: 360 },
          membershipWaitSeconds: 600,
        },
        follow: { intervalMs: 1000, lostAfterSeconds: 30 },
        apiKeyCacheMs: 5000,
        auditWitness: { file: null, intervalMs: 60000 },
        rateLimits: { defaults: DEFAULT_LIMITS, byKind: {}, budgets: { marketplace: { requests: 600, windowMs: 60_000 } } },
        nodes: { heartbeatSeconds: 30, staleSeconds: 120, offlineSeconds: 300, deregisterSeconds: 3600, sweepIntervalMs: 5000, probePeers: 16 },
        secretKeys: [],
        topology: {
          launcher: 'none',
          intervalMs: 15000,
          tiers: [
            { name: 'tight', boundMs: 2 },
            { name: 'loose', boundMs: 30 },
          ],
          minIslandSize: 2,
          confirmRounds: 3,
          maxChurnPerHour: 60,
          hardTags: [],
          namePrefix: 'island',
          localSlots: [2, 3, 4],
          kubernetes: null,
        },
        logging: { format: 'json', level: 'log' },
        metrics: { port: null, bearerToken: null },
        usage: {
          signingKeyPem: null,
          intervalMs: 1000,
          giveUpAfterSeconds: 86400,
          prices: { default: DEFAULT_PRICES, islands: {} },
          shares: { platformPpm: 50000, providerPpm: 800000, nodesPpm: 150000 },
          epochSeconds: 86400,
          commitDelayMs: 0,
        },
        chain: {
          rpcUrl: null,
          chainId: 'virtengine-1',
          bech32Prefix: 've',
          denom: 'uve',
          gasPrice: '0.025uve',
          gasPriceMax: '0.25uve',
          gasMultiplier: 1.3,
          requestTimeoutMs: 5000,
          broadcastPollMs: 1000,
          jobRecordsUnreadable: 'not-ready',
        },
        ledger: {
          providerKey: null,
          maxMessagesPerTx: 100,
          maxGasPerTx: 4_000_000,
          maxTxsPerBlock: 10,
          livenessIntervalMs: 30_000,
          defaultRegion: 'unknown',
          offeringIdentityThreshold: 50,
          offeringMaxRuntimeSeconds: 604_800,
          ingress: { intervalMs: 10_000, pageLimit: 200, defaultSlurmUser: null, containerRuntime: 'apptainer' },
          reconcileIntervalMs: 600_000,
        },
        identity: {
          loginDomain: 'archipelago.local',
          challengeSeconds: 300,
          sessionSeconds: 900,
          refreshSeconds: 604800,
          devIdentityFile: null,
          veid: {
            actions: { submit: 'basic', submit_multi_node: 'standard', submit_gpu: 'standard', provider_join: 'standard' },
            partitions: {},
            failOpen: new Set(),
            unlinked: 'exempt',
            cacheMs: 30000,
          },
          mfa: {
            actions: new Set(['api_key_create', 'join_token_create', 'mass_cancel', 'high_value_job']),
            highValueNodeHours: 1000,
            massCancelJobs: 10,
            unlinked: 'exempt',
          },
        },
        instanceId: '',
        tagKey: { key: Buffer.alloc(0), createdAt: new Date(0) },
      },
    );
  });
  it('metrics: a worker listener only when METRICS_PORT is set, and an optional scrape token', () => {
    const config = loadConfig(env({ METRICS_PORT: '9464', ARCHIPELAGO_METRICS_TOKEN: 'scrape-token' }));
    assert.deepEqual(config.metrics, { port: 9464, bearerToken: 'scrape-token' });
    assert.throws(() => loadConfig(env({ METRICS_PORT: 'nine' })), /METRICS_PORT: expected an integer/);
  });
  it('usage: reward shares must sum to 100 %, prices must be exact decimals, the key file must exist', () => {
    configError({ ARCHIPELAGO_REWARD_SHARES_PPM: '50000,800000,150001' }, 'ARCHIPELAGO_REWARD_SHARES_PPM', /sum to 1000000/);
    configError({ ARCHIPELAGO_REWARD_SHARES_PPM: '5%,80%,15%' }, 'ARCHIPELAGO_REWARD_SHARES_PPM');
    assert.deepEqual(loadConfig(env({ ARCHIPELAGO_REWARD_SHARES_PPM: '0,900000,100000' })).usage.shares, {
      platformPpm: 0,
      providerPpm: 900000,
      nodesPpm: 100000,
    });
    configError(
      { ARCHIPELAGO_USAGE_PRICES_FILE: file({ default: { ...DEFAULT_PRICES, nodeHour: '1e5' } }) },
      'ARCHIPELAGO_USAGE_PRICES_FILE',
      /default: nodeHour/,
    );
    configError({ ARCHIPELAGO_USAGE_SIGNING_KEY_FILE: '/nonexistent/key.pem' }, 'ARCHIPELAGO_USAGE_SIGNING_KEY_FILE', /does not exist/);
  });
  it('empty values mean the default', () => {
    const config = loadConfig(env({ PORT: '', ARCHIPELAGO_ROLE: '', DATABASE_URL: '', HOST: '' }));
    assert.equal(config.http.port, 8080);
    assert.equal(config.role, 'all');
    assert.equal(config.http.host, '127.0.0.1');
    assert.equal(config.databaseUrl, 'postgres://postgres@127.0.0.1:55432/archipelago');
  });
  it('reads every setting from the environment', () => {
    const config = loadConfig(
      env({
        ARCHIPELAGO_ROLE: 'worker',
        HOST: '0.0.0.0',
        PORT: '9000',
        ARCHIPELAGO_BODY_LIMIT_BYTES: '4096',
        ARCHIPELAGO_SMALL_BODY_LIMIT_BYTES: '2048',
        ARCHIPELAGO_TRUST_PROXY: 'true',
        ARCHIPELAGO_API_PROCESSES: '3',
        DATABASE_URL: 'postgresql://u:p@db:5432/x',
        REDIS_URL: 'rediss://cache:6380',
        ARCHIPELAGO_MAX_SCRIPT_BYTES: '64',
        ARCHIPELAGO_JOB_PATH: '/opt/bin',
        ARCHIPELAGO_DISPATCH_CONCURRENCY: '256',
        ARCHIPELAGO_DISPATCH_LEASE_SECONDS: '2',
        ARCHIPELAGO_RECONCILE_INTERVAL_MS: '100',
        ARCHIPELAGO_DISPATCH_RETRY_BASE_MS: '500',
        ARCHIPELAGO_DISPATCH_RETRY_MAX_MS: '60000',
        ARCHIPELAGO_DISPATCH_MAX_ATTEMPTS: '3',
        ARCHIPELAGO_DISPATCH_MEMBERSHIP_WAIT_SECONDS: '30',
        ARCHIPELAGO_FOLLOW_INTERVAL_MS: '600000',
        ARCHIPELAGO_LOST_AFTER_SECONDS: '86400',
        ARCHIPELAGO_API_KEY_CACHE_MS: '0',
        ARCHIPELAGO_OUTPUT_READS: '3',
        ARCHIPELAGO_OUTPUT_READS_PER_USER: '2',
        ARCHIPELAGO_OUTPUT_READ_TIMEOUT_MS: '2500',
      }),
    );
    assert.equal(config.role, 'worker');
    assert.deepEqual(config.http, { host: '0.0.0.0', port: 9000, bodyLimitBytes: 4096, smallBodyLimitBytes: 2048, trustProxy: true, processes: 3 });
    assert.equal(config.databaseUrl, 'postgresql://u:p@db:5432/x');
    assert.equal(config.redisUrl, 'rediss://cache:6380');
    assert.deepEqual(config.jobs, {
      maxScriptBytes: 64,
      defaultEnvironment: { PATH: '/opt/bin' },
      outputReads: { concurrency: 3, perUser: 2, timeoutMs: 2500 },
    });
    assert.deepEqual(config.dispatch, {
      concurrency: 256,
      leaseSeconds: 2,
      reconcileIntervalMs: 100,
      retry: { baseDelayMs: 500, maxDelayMs: 60000, maxAttempts: 3 },
      membershipWaitSeconds: 30,
    });
    assert.throws(
      () => loadConfig(env({ ARCHIPELAGO_DISPATCH_RETRY_BASE_MS: '5000', ARCHIPELAGO_DISPATCH_RETRY_MAX_MS: '1000' })),
      /ARCHIPELAGO_DISPATCH_RETRY_MAX_MS/,
    );
    assert.deepEqual(config.follow, { intervalMs: 600000, lostAfterSeconds: 86400 });
    assert.equal(config.apiKeyCacheMs, 0);
  });
  it('topology: tiers, slots and the launcher, which needs an envelope key', () => {
    const keyFile = file(randomBytes(32).toString('base64'), 'secrets.key');
    const config = loadConfig(
      env({
        ARCHIPELAGO_ISLAND_LAUNCHER: 'local',
        ARCHIPELAGO_SECRETS_KEY_FILE: keyFile,
        ARCHIPELAGO_TOPOLOGY_TIERS: 'mpi:1.5, wan:40',
        ARCHIPELAGO_LOCAL_ISLAND_SLOTS: '5',
        ARCHIPELAGO_TOPOLOGY_CONFIRM_ROUNDS: '5',
        ARCHIPELAGO_TOPOLOGY_MAX_CHURN_PER_HOUR: '0',
      }),
    );
    assert.equal(config.topology.launcher, 'local');
    assert.deepEqual([config.topology.confirmRounds, config.topology.maxChurnPerHour], [5, 0]);
    configError({ ARCHIPELAGO_TOPOLOGY_CONFIRM_ROUNDS: '0' }, 'ARCHIPELAGO_TOPOLOGY_CONFIRM_ROUNDS');
    assert.deepEqual(config.topology.tiers, [
      { name: 'mpi', boundMs: 1.5 },
      { name: 'wan', boundMs: 40 },
    ]);
    assert.deepEqual(config.topology.localSlots, [5]);
    assert.equal(config.secretKeys.length, 1);
    assert.equal(config.secretKeys[0].length, 32);
    configError({ ARCHIPELAGO_ISLAND_LAUNCHER: 'local' }, 'ARCHIPELAGO_SECRETS_KEY_FILE', /required/);
    configError({ ARCHIPELAGO_TOPOLOGY_TIERS: 'tight' }, 'ARCHIPELAGO_TOPOLOGY_TIERS');
    configError({ ARCHIPELAGO_TOPOLOGY_TIERS: 'a:1,a:2' }, 'ARCHIPELAGO_TOPOLOGY_TIERS', /differ/);
    configError({ ARCHIPELAGO_TOPOLOGY_TIERS: 'a:0' }, 'ARCHIPELAGO_TOPOLOGY_TIERS');
    configError({ ARCHIPELAGO_ISLAND_NAME_PREFIX: 'Bad_Prefix' }, 'ARCHIPELAGO_ISLAND_NAME_PREFIX');
    configError({ ARCHIPELAGO_ISLAND_LAUNCHER: 'kubernetes', ARCHIPELAGO_SECRETS_KEY_FILE: keyFile }, 'ARCHIPELAGO_K8S_SLURM_IMAGE', /required/);
    assert.deepEqual(
      loadConfig(
        env({ ARCHIPELAGO_ISLAND_LAUNCHER: 'kubernetes', ARCHIPELAGO_SECRETS_KEY_FILE: keyFile, ARCHIPELAGO_K8S_SLURM_IMAGE: 'registry.example/slurm' }),
      ).topology.kubernetes,
      { namespace: 'archipelago-islands', slurmImage: 'registry.example/slurm' },
    );
    configError({ ARCHIPELAGO_TOPOLOGY_HARD_TAGS: 'region,colour' }, 'ARCHIPELAGO_TOPOLOGY_HARD_TAGS', /colour/);
    assert.deepEqual(loadConfig(env({ ARCHIPELAGO_TOPOLOGY_HARD_TAGS: 'providerGroup, region' })).topology.hardTags, ['providerGroup', 'region']);
    configError({ ARCHIPELAGO_LOCAL_ISLAND_SLOTS: '4-2' }, 'ARCHIPELAGO_LOCAL_ISLAND_SLOTS');
    configError({ ARCHIPELAGO_LOCAL_ISLAND_SLOTS: '9' }, 'ARCHIPELAGO_LOCAL_ISLAND_SLOTS');
    configError({ ARCHIPELAGO_SECRETS_KEY_FILE: file('too short', 'short.key') }, 'ARCHIPELAGO_SECRETS_KEY_FILE', /32-byte/);
    configError({ ARCHIPELAGO_SECRETS_OLD_KEY_FILES: keyFile }, 'ARCHIPELAGO_SECRETS_OLD_KEY_FILES');
  });
  it("each marketplace account's own request budget is a rate-limit budget per minute", () => {
    assert.deepEqual(loadConfig(env({ ARCHIPELAGO_MARKETPLACE_REQUESTS_PER_MINUTE: '30' })).rateLimits?.budgets, {
      marketplace: { requests: 30, windowMs: 60_000 },
    });
    assert.deepEqual(loadConfig(env({ ARCHIPELAGO_MARKETPLACE_REQUESTS_PER_MINUTE: '0' })).rateLimits?.budgets, {});
    const explicit = loadConfig(env({ ARCHIPELAGO_RATE_LIMITS: 'marketplace.budget=5/1s', ARCHIPELAGO_MARKETPLACE_REQUESTS_PER_MINUTE: '30' }));
    assert.deepEqual(explicit.rateLimits?.budgets, { marketplace: { requests: 5, windowMs: 1000 } });
    assert.equal(loadConfig(env({ ARCHIPELAGO_RATE_LIMITS: 'off' })).rateLimits, null);
  });
  it('runs one API process per core for ARCHIPELAGO_API_PROCESSES=auto, and refuses what is not a count', () => {
    assert.equal(loadConfig(env({ ARCHIPELAGO_API_PROCESSES: 'auto' })).http.processes, availableParallelism());
    configError({ ARCHIPELAGO_API_PROCESSES: '0' }, 'ARCHIPELAGO_API_PROCESSES', /between 1 and 64/);
    configError({ ARCHIPELAGO_API_PROCESSES: 'many' }, 'ARCHIPELAGO_API_PROCESSES', /integer/);
  });
  it('trusts a proxy only for exactly "true"', () => {
    for (const value of ['1', 'TRUE', 'yes', 'false']) assert.equal(loadConfig(env({ ARCHIPELAGO_TRUST_PROXY: value })).http.trustProxy, false);
  });
  it('invalid integers name the variable', () => {
    for (const value of ['abc', '-1', '80.5', '1e3', ' 80', '0x50']) configError({ PORT: value }, 'PORT', /expected an integer/);
    configError({ ARCHIPELAGO_DISPATCH_CONCURRENCY: 'eight' }, 'ARCHIPELAGO_DISPATCH_CONCURRENCY', /integer/);
  });
  it('integers outside their range name the variable and the range', () => {
    configError({ PORT: '65536' }, 'PORT', /between 0 and 65535/);
    configError({ ARCHIPELAGO_DISPATCH_CONCURRENCY: '0' }, 'ARCHIPELAGO_DISPATCH_CONCURRENCY', /between 1 and 256/);
    configError({ ARCHIPELAGO_DISPATCH_CONCURRENCY: '257' }, 'ARCHIPELAGO_DISPATCH_CONCURRENCY');
    configError({ ARCHIPELAGO_BODY_LIMIT_BYTES: '1023' }, 'ARCHIPELAGO_BODY_LIMIT_BYTES');
    configError({ ARCHIPELAGO_SMALL_BODY_LIMIT_BYTES: '1023' }, 'ARCHIPELAGO_SMALL_BODY_LIMIT_BYTES');
    configError({ ARCHIPELAGO_MAX_SCRIPT_BYTES: '63' }, 'ARCHIPELAGO_MAX_SCRIPT_BYTES');
    configError({ ARCHIPELAGO_DISPATCH_LEASE_SECONDS: '1' }, 'ARCHIPELAGO_DISPATCH_LEASE_SECONDS');
    configError({ ARCHIPELAGO_FOLLOW_INTERVAL_MS: '49' }, 'ARCHIPELAGO_FOLLOW_INTERVAL_MS');
    configError({ ARCHIPELAGO_LOST_AFTER_SECONDS: '0' }, 'ARCHIPELAGO_LOST_AFTER_SECONDS');
    configError({ ARCHIPELAGO_API_KEY_CACHE_MS: '600001' }, 'ARCHIPELAGO_API_KEY_CACHE_MS');
    configError({ ARCHIPELAGO_RECONCILE_INTERVAL_MS: '99999999999999999999' }, 'ARCHIPELAGO_RECONCILE_INTERVAL_MS');
    assert.equal(loadConfig(env({ PORT: '0' })).http.port, 0);
    assert.equal(loadConfig(env({ PORT: '65535' })).http.port, 65535);
  });
  it('invalid URLs name the variable', () => {
    configError({ DATABASE_URL: 'not a url' }, 'DATABASE_URL', /not a URL/);
    configError({ DATABASE_URL: 'mysql://db/x' }, 'DATABASE_URL', /postgres: or postgresql:/);
    configError({ REDIS_URL: 'http://cache:6379' }, 'REDIS_URL', /redis: or rediss:/);
    configError({ REDIS_URL: '127.0.0.1:6379x' }, 'REDIS_URL');
  });
  it('an unknown role names the variable', () => {
    configError({ ARCHIPELAGO_ROLE: 'admin' }, 'ARCHIPELAGO_ROLE', /api, worker, all/);
    assert.equal(loadConfig(env({ ARCHIPELAGO_ROLE: 'api' })).role, 'api');
  });
  it('the bootstrap admin key, direct or from a file, trimmed, at least 32 characters', () => {
    const key = 'k'.repeat(32);
    assert.equal(loadConfig(env({ ARCHIPELAGO_BOOTSTRAP_ADMIN_KEY: ` ${key}\n` })).bootstrapAdminKey, key);
    assert.equal(loadConfig(env({ ARCHIPELAGO_BOOTSTRAP_ADMIN_KEY_FILE: file(`${key}x\n`, 'admin.key') })).bootstrapAdminKey, `${key}x`);
    // The direct value wins over the file.
    assert.equal(
      loadConfig(env({ ARCHIPELAGO_BOOTSTRAP_ADMIN_KEY: key, ARCHIPELAGO_BOOTSTRAP_ADMIN_KEY_FILE: file('z'.repeat(40), 'other.key') })).bootstrapAdminKey,
      key,
    );
    configError({ ARCHIPELAGO_BOOTSTRAP_ADMIN_KEY: 'k'.repeat(31) }, 'ARCHIPELAGO_BOOTSTRAP_ADMIN_KEY', /32/);
    configError({ ARCHIPELAGO_BOOTSTRAP_ADMIN_KEY: `${'k'.repeat(31)}   ` }, 'ARCHIPELAGO_BOOTSTRAP_ADMIN_KEY');
    configError({ ARCHIPELAGO_BOOTSTRAP_ADMIN_KEY_FILE: file('short\n', 'short.key') }, 'ARCHIPELAGO_BOOTSTRAP_ADMIN_KEY', /32/);
    configError({ ARCHIPELAGO_BOOTSTRAP_ADMIN_KEY_FILE: join(dir, 'absent.key') }, 'ARCHIPELAGO_BOOTSTRAP_ADMIN_KEY_FILE', /does not exist/);
  });
  it('an islands file that is named but missing or empty is an error', () => {
    configError({ ARCHIPELAGO_ISLANDS_FILE: join(dir, 'absent.json') }, 'ARCHIPELAGO_ISLANDS_FILE', /defines no island/);
    configError({ ARCHIPELAGO_ISLANDS_FILE: file({ islands: [] }) }, 'ARCHIPELAGO_ISLANDS_FILE', /defines no island/);
  });
  it('islands file errors come through', () => {
    assert.throws(() => loadConfig(env({ ARCHIPELAGO_ISLANDS_FILE: file({ islands: [restIsland(), restIsland()] }) })), /duplicate island/);
  });
  it('reads the islands it is given', () => {
    const config = loadConfig(env({ ARCHIPELAGO_ISLANDS_FILE: file({ islands: [restIsland(), sshIsland()] }) }));
    assert.deepEqual(
      config.islands.map((i) => [i.connection.name, i.connection.adapter, i.files]),
      [
        ['island-a', 'rest', 'local'],
        ['island-s', 'ssh', 'sftp'],
      ],
    );
  });
});

describe('chain settings', () => {
  it('reads the chain from the environment', () => {
    const chain = chainSettings({
      CHAIN_RPC_URL: 'http://127.0.0.1:26657',
      CHAIN_ID: 'virtengine-dev-1',
      CHAIN_BECH32_PREFIX: 'virtengine',
      CHAIN_DENOM: 'uvirt',
      CHAIN_GAS_MULTIPLIER: '1.5',
      CHAIN_JOB_RECORDS_UNREADABLE: 'degraded',
    });
    assert.equal(chain.jobRecordsUnreadable, 'degraded');
    assert.equal(chain.rpcUrl, 'http://127.0.0.1:26657');
    assert.equal(chain.chainId, 'virtengine-dev-1');
    assert.equal(chain.bech32Prefix, 'virtengine');
    assert.equal(chain.gasPrice, '0.025uvirt');
    assert.equal(chain.gasPriceMax, '0.25uvirt', 'ten times the configured price unless set');
    assert.equal(chain.gasMultiplier, 1.5);
  });
  for (const [variable, value] of [
    ['CHAIN_RPC_URL', 'tcp://127.0.0.1:26657'],
    ['CHAIN_BECH32_PREFIX', 'VE'],
    ['CHAIN_GAS_MULTIPLIER', '0.5'],
    ['CHAIN_GAS_PRICE', 'cheap'],
    ['CHAIN_ID', 'a b'],
    ['CHAIN_JOB_RECORDS_UNREADABLE', 'ignore'],
    ['CHAIN_GAS_PRICE_MAX', '1uatom'],
  ]) {
    it(`refuses ${variable}=${value}`, () => {
      assert.throws(
        () => chainSettings({ [variable]: value }),
        (e: unknown) => e instanceof ConfigError && e.variable === variable,
      );
    });
  }
});
