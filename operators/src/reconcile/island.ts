import {
  ANNOTATIONS,
  LABELS,
  MANAGED_BY,
  type Island,
  type IslandStatus,
  type KubeObject,
  type NodeSet,
  type ReadyCount,
  type SecretKeyRef,
} from '../../../contracts/kubernetes/v1alpha1.js';
import { controllerRef, setCondition } from './conditions.js';
import { imageFor, islandNames } from './names.js';
import { contentHash, PATHS, PORTS, renderSlurmConf, renderSlurmdbdConf } from './slurm-conf.js';

type Component = 'slurmctld' | 'slurmrestd' | 'slurmdbd' | 'mariadb' | 'config' | 'keys';

function meta(island: Island, name: string, component: Component, annotations?: Record<string, string>) {
  return {
    name,
    namespace: island.metadata.namespace,
    labels: { [LABELS.managedBy]: MANAGED_BY, [LABELS.island]: island.metadata.name, [LABELS.component]: component },
    ...(annotations ? { annotations } : {}),
    ownerReferences: [controllerRef(island)],
  };
}

function selector(island: Island, component: Component): Record<string, string> {
  return { [LABELS.island]: island.metadata.name, [LABELS.component]: component };
}

/** Where each key lives: the referenced Secret, or the one the operator generates. */
export function keyRefs(island: Island): { munge: SecretKeyRef; jwt: SecretKeyRef } {
  const names = islandNames(island);
  return {
    munge: island.spec.secrets.mungeKeyRef ?? { name: names.mungeSecret, key: 'munge.key' },
    jwt: island.spec.secrets.jwtKeyRef ?? { name: names.jwtSecret, key: 'jwt_hs256.key' },
  };
}

function keyVolumes(island: Island) {
  const refs = keyRefs(island);
  return [
    { name: 'munge-key', secret: { secretName: refs.munge.name, items: [{ key: refs.munge.key, path: 'munge.key' }], defaultMode: 0o400 } },
    { name: 'jwt-key', secret: { secretName: refs.jwt.name, items: [{ key: refs.jwt.key, path: 'jwt_hs256.key' }], defaultMode: 0o400 } },
  ];
}

const keyMounts = [
  { name: 'munge-key', mountPath: PATHS.mungeKeySecret, subPath: 'munge.key', readOnly: true },
  { name: 'jwt-key', mountPath: PATHS.jwtKeySecret, subPath: 'jwt_hs256.key', readOnly: true },
];

const podSecurity = { runAsNonRoot: false, seccompProfile: { type: 'RuntimeDefault' } };

function pvcTemplate(name: string, storage: { size: string; storageClassName?: string }) {
  return {
    metadata: { name },
    spec: {
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: storage.size } },
      ...(storage.storageClassName ? { storageClassName: storage.storageClassName } : {}),
    },
  };
}

/**
 * Every child the island should have, fully specified, for server-side apply. Pure: the same Island gives
 * the same objects, so re-applying is a no-op and the operator may reconcile as often as it likes.
 * The slurm.conf hash goes on the pod templates so a configuration change rolls the daemons.
 */
export function desiredIslandChildren(island: Island): KubeObject[] {
  const names = islandNames(island);
  const slurmConf = renderSlurmConf(island);
  const configHash = contentHash(slurmConf);
  const podAnnotations = { [ANNOTATIONS.configHash]: configHash };
  const configVolume = { name: 'slurm-config', configMap: { name: names.config } };
  const configMount = { name: 'slurm-config', mountPath: `${PATHS.confDir}/slurm.conf`, subPath: 'slurm.conf', readOnly: true };
  const { spec } = island;

  const objects: KubeObject[] = [
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta(island, names.config, 'config'), data: { 'slurm.conf': slurmConf } },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta(island, names.slurmctld, 'slurmctld'),
      spec: {
        // Headless: the StatefulSet pod gets the stable DNS name SlurmctldHost points at.
        clusterIP: 'None',
        publishNotReadyAddresses: true,
        selector: selector(island, 'slurmctld'),
        ports: [{ name: 'slurmctld', port: PORTS.slurmctld, targetPort: PORTS.slurmctld, protocol: 'TCP' }],
      },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: meta(island, names.slurmctld, 'slurmctld'),
      spec: {
        serviceName: names.slurmctld,
        // SLURM 22.05 has one primary controller; a second replica would be a split brain, not HA.
        replicas: 1,
        podManagementPolicy: 'OrderedReady',
        selector: { matchLabels: selector(island, 'slurmctld') },
        template: {
          metadata: { labels: { ...selector(island, 'slurmctld'), [LABELS.managedBy]: MANAGED_BY }, annotations: podAnnotations },
          spec: {
            securityContext: podSecurity,
            enableServiceLinks: false,
            containers: [
              {
                name: 'slurmctld',
                image: imageFor(island, 'slurmctld'),
                args: ['slurmctld', '-D', '-i'],
                ports: [{ name: 'slurmctld', containerPort: PORTS.slurmctld, protocol: 'TCP' }],
                readinessProbe: { tcpSocket: { port: PORTS.slurmctld }, periodSeconds: 5 },
                livenessProbe: { tcpSocket: { port: PORTS.slurmctld }, periodSeconds: 20, failureThreshold: 6 },
                ...(spec.controller.resources ? { resources: spec.controller.resources } : {}),
                volumeMounts: [configMount, ...keyMounts, { name: 'state', mountPath: PATHS.stateSave }],
              },
            ],
            volumes: [configVolume, ...keyVolumes(island)],
          },
        },
        volumeClaimTemplates: [pvcTemplate('state', spec.controller.storage)],
        persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Delete', whenScaled: 'Retain' },
      },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: meta(island, names.slurmrestd, 'slurmrestd'),
      spec: {
        replicas: spec.restApi.replicas,
        selector: { matchLabels: selector(island, 'slurmrestd') },
        template: {
          metadata: { labels: { ...selector(island, 'slurmrestd'), [LABELS.managedBy]: MANAGED_BY }, annotations: podAnnotations },
          spec: {
            securityContext: podSecurity,
            enableServiceLinks: false,
            containers: [
              {
                name: 'slurmrestd',
                image: imageFor(island, 'slurmrestd'),
                // Binds as root, then drops to slurmrest: slurmrestd refuses to serve as root or SlurmUser.
                args: ['slurmrestd', '-u', 'slurmrest', '-g', 'slurmrest', '-a', 'rest_auth/jwt', '-s', 'openapi/v0.0.38', `0.0.0.0:${PORTS.slurmrestd}`],
                env: [{ name: 'SLURM_JWT', value: 'daemon' }],
                ports: [{ name: 'http', containerPort: PORTS.slurmrestd, protocol: 'TCP' }],
                readinessProbe: { tcpSocket: { port: PORTS.slurmrestd }, periodSeconds: 5 },
                volumeMounts: [configMount, ...keyMounts],
              },
            ],
            volumes: [configVolume, ...keyVolumes(island)],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta(island, names.slurmrestd, 'slurmrestd'),
      spec: {
        type: spec.restApi.serviceType,
        selector: selector(island, 'slurmrestd'),
        ports: [{ name: 'http', port: PORTS.slurmrestd, targetPort: PORTS.slurmrestd, protocol: 'TCP' }],
      },
    },
  ];
  if (spec.accounting.enabled) objects.push(...accountingChildren(island, configMount, configVolume, podAnnotations));
  return objects;
}

function accountingChildren(
  island: Island,
  configMount: Record<string, unknown>,
  configVolume: Record<string, unknown>,
  podAnnotations: Record<string, string>,
): KubeObject[] {
  const names = islandNames(island);
  const dbSecret = (key: string) => ({ secretKeyRef: { name: names.slurmdbdSecret, key } });
  return [
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta(island, names.mariadb, 'mariadb'),
      spec: {
        clusterIP: 'None',
        selector: selector(island, 'mariadb'),
        ports: [{ name: 'mysql', port: PORTS.mariadb, targetPort: PORTS.mariadb, protocol: 'TCP' }],
      },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: meta(island, names.mariadb, 'mariadb'),
      spec: {
        serviceName: names.mariadb,
        replicas: 1,
        selector: { matchLabels: selector(island, 'mariadb') },
        template: {
          metadata: { labels: { ...selector(island, 'mariadb'), [LABELS.managedBy]: MANAGED_BY } },
          spec: {
            containers: [
              {
                name: 'mariadb',
                image: island.spec.accounting.databaseImage,
                env: [
                  { name: 'MARIADB_DATABASE', value: 'slurm_acct_db' },
                  { name: 'MARIADB_USER', value: 'slurm' },
                  { name: 'MARIADB_PASSWORD', valueFrom: dbSecret('password') },
                  { name: 'MARIADB_RANDOM_ROOT_PASSWORD', value: '1' },
                ],
                ports: [{ name: 'mysql', containerPort: PORTS.mariadb, protocol: 'TCP' }],
                readinessProbe: { tcpSocket: { port: PORTS.mariadb }, periodSeconds: 5 },
                volumeMounts: [{ name: 'data', mountPath: '/var/lib/mysql' }],
              },
            ],
          },
        },
        volumeClaimTemplates: [pvcTemplate('data', island.spec.accounting.storage)],
      },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: meta(island, names.slurmdbd, 'slurmdbd'),
      spec: {
        // slurmdbd is a single writer of its database.
        replicas: 1,
        strategy: { type: 'Recreate' },
        selector: { matchLabels: selector(island, 'slurmdbd') },
        template: {
          metadata: { labels: { ...selector(island, 'slurmdbd'), [LABELS.managedBy]: MANAGED_BY }, annotations: podAnnotations },
          spec: {
            securityContext: podSecurity,
            enableServiceLinks: false,
            containers: [
              {
                name: 'slurmdbd',
                image: imageFor(island, 'slurmdbd'),
                args: ['slurmdbd', '-D'],
                ports: [{ name: 'slurmdbd', containerPort: PORTS.slurmdbd, protocol: 'TCP' }],
                readinessProbe: { tcpSocket: { port: PORTS.slurmdbd }, periodSeconds: 5 },
                volumeMounts: [
                  configMount,
                  ...keyMounts,
                  { name: 'slurmdbd-conf', mountPath: PATHS.slurmdbdConfSecret, subPath: 'slurmdbd.conf', readOnly: true },
                ],
              },
            ],
            volumes: [
              configVolume,
              ...keyVolumes(island),
              {
                name: 'slurmdbd-conf',
                secret: { secretName: names.slurmdbdSecret, items: [{ key: 'slurmdbd.conf', path: 'slurmdbd.conf' }], defaultMode: 0o400 },
              },
            ],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta(island, names.slurmdbd, 'slurmdbd'),
      spec: { selector: selector(island, 'slurmdbd'), ports: [{ name: 'slurmdbd', port: PORTS.slurmdbd, targetPort: PORTS.slurmdbd, protocol: 'TCP' }] },
    },
  ];
}

/**
 * Secrets whose content is random: created once when absent and never applied again, because re-applying
 * would rotate the munge key under running daemons. `random(n)` gives n random bytes (crypto in the runtime).
 */
export function generatedSecrets(island: Island, random: (bytes: number) => Buffer): KubeObject[] {
  const names = islandNames(island);
  const out: KubeObject[] = [];
  const secret = (name: string, data: Record<string, Buffer | string>): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: meta(island, name, 'keys'),
    type: 'Opaque',
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  });
  // SLURM's munge key is 1024 bytes by convention (mungekey's default); HS256 wants at least 32.
  if (!island.spec.secrets.mungeKeyRef) out.push(secret(names.mungeSecret, { 'munge.key': random(1024) }));
  if (!island.spec.secrets.jwtKeyRef) out.push(secret(names.jwtSecret, { 'jwt_hs256.key': random(32) }));
  if (island.spec.accounting.enabled) {
    const password = random(24).toString('base64url');
    out.push(secret(names.slurmdbdSecret, { password, 'slurmdbd.conf': renderSlurmdbdConf(island, password) }));
  }
  return out;
}

/** What the operator observed of the island's world, from its informer caches. */
export interface IslandObservation {
  controller?: { readyReplicas?: number; replicas?: number };
  restApi?: { readyReplicas?: number; replicas?: number };
  slurmdbd?: { readyReplicas?: number };
  nodeSets: NodeSet[];
}

function count(ready: number | undefined, total: number): ReadyCount {
  return { ready: Math.min(ready ?? 0, total), total };
}

/** The island's status: phase, the three conditions, endpoints and counts, all from the observation. */
export function islandStatus(island: Island, seen: IslandObservation, now: Date): IslandStatus {
  const names = islandNames(island);
  const generation = island.metadata.generation ?? 0;
  const controller = count(seen.controller?.readyReplicas, 1);
  const restApi = count(seen.restApi?.readyReplicas, island.spec.restApi.replicas);
  const nodes = seen.nodeSets.reduce((acc, ns) => ({ ready: acc.ready + (ns.status?.readyReplicas ?? 0), total: acc.total + ns.spec.replicas }), {
    ready: 0,
    total: 0,
  });
  const dbdReady = !island.spec.accounting.enabled || (seen.slurmdbd?.readyReplicas ?? 0) >= 1;
  const daemonsUp = controller.ready === 1 && restApi.ready === restApi.total && dbdReady;
  const everReady = island.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
  const deleting = Boolean(island.metadata.deletionTimestamp);

  const missing = [
    controller.ready < 1 ? 'slurmctld' : '',
    restApi.ready < restApi.total ? `slurmrestd ${restApi.ready}/${restApi.total}` : '',
    dbdReady ? '' : 'slurmdbd',
  ].filter(Boolean);
  let conditions = island.status?.conditions;
  conditions = setCondition(
    conditions,
    daemonsUp
      ? { type: 'Ready', status: 'True', reason: 'DaemonsReady', message: 'slurmctld and slurmrestd are ready', observedGeneration: generation }
      : { type: 'Ready', status: 'False', reason: 'DaemonsNotReady', message: `waiting for ${missing.join(', ')}`, observedGeneration: generation },
    now,
  );
  conditions = setCondition(
    conditions,
    deleting
      ? { type: 'Progressing', status: 'True', reason: 'Terminating', message: 'waiting for node sets to drain', observedGeneration: generation }
      : daemonsUp
        ? { type: 'Progressing', status: 'False', reason: 'Reconciled', message: 'children match the spec', observedGeneration: generation }
        : { type: 'Progressing', status: 'True', reason: 'RollingOut', message: `waiting for ${missing.join(', ')}`, observedGeneration: generation },
    now,
  );
  // Degraded means it was serving and no longer is; a first rollout is Progressing, not Degraded.
  const degraded = everReady && !daemonsUp && !deleting;
  conditions = setCondition(
    conditions,
    degraded
      ? { type: 'Degraded', status: 'True', reason: 'DaemonsLost', message: `lost ${missing.join(', ')}`, observedGeneration: generation }
      : { type: 'Degraded', status: 'False', reason: 'AsExpected', message: '', observedGeneration: generation },
    now,
  );
  const phase: IslandStatus['phase'] = deleting ? 'Terminating' : daemonsUp ? 'Ready' : degraded ? 'Degraded' : seen.controller ? 'Provisioning' : 'Pending';
  return {
    phase,
    observedGeneration: generation,
    endpoints: { restUrl: names.restUrl, controller: `${names.controllerFqdn}:${PORTS.slurmctld}`, jwtSecret: keyRefs(island).jwt },
    controller,
    restApi,
    nodes,
    configHash: contentHash(renderSlurmConf(island)),
    conditions,
  };
}
