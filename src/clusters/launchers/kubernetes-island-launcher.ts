import { createHash } from 'node:crypto';

// @kubernetes/client-node 1.x is ESM-only; this CommonJS build loads it through Node's require(esm) (≥ 20.19).
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';

import type { IslandClusterSpec, IslandLauncher, IslandMemberSpec, LaunchedIsland } from '../island-launcher.port';

/**
 * The Kubernetes adapter of the island launcher: writes Island and NodeSet custom resources
 * (archipelago.dev/v1alpha1, k8s/crds) with server-side apply and waits for the operators to report them.
 * Membership is one NodeSet per member node, so each join or leave writes its own object and two topology
 * decisions never race on a shared list.
 */
export interface KubernetesIslandLauncherOptions {
  /** Namespace of the Island and NodeSet resources (the operator watches one namespace). */
  namespace: string;
  /** Image repository prefix of the SLURM daemons (slurm/images), e.g. registry.example/archipelago/slurm. */
  slurmImage: string;
  slurmVersion?: string;
  /** How long ensureIsland waits for the daemons and joinNode for slurmd. */
  readyTimeoutMs?: number;
  /** How long retireIsland waits for the island to be gone. */
  retireTimeoutMs?: number;
  pollMs?: number;
  /** Node label that pins a member's slurmd pod to the provider's machine. */
  nodeLabel?: string;
}

const GROUP = 'archipelago.dev';
const VERSION = 'v1alpha1';
const API_VERSION = `${GROUP}/${VERSION}`;
const FIELD_MANAGER = 'archipelago-control-plane';
const DRAIN_REASON = 'archipelago.dev/drain-reason';
/** Drained in SLURM while present (the value is the reason); the operator copies it to the slurmd pod. */
const DRAINED = 'archipelago.dev/drained';
const FEATURE = /^[A-Za-z0-9_.:-]{1,64}$/;

type Json = Record<string, any>;

function code(e: unknown): number | undefined {
  return (e as { code?: number })?.code;
}

/** A DNS-label NodeSet name for a member; names that had to be altered or shortened get a hash suffix. */
export function nodeSetName(island: string, node: string): string {
  const plain = `${island}-${node}`;
  const label = plain.toLowerCase().replace(/[^a-z0-9-]/g, '-');
  // Pods are `<nodeset>-<ordinal>` and the name is a label value: keep room under 63 characters.
  if (label === plain && label.length <= 50) return label;
  const hash = createHash('sha256').update(`${island}/${node}`).digest('hex').slice(0, 8);
  return `${label.slice(0, 41).replace(/-+$/, '')}-${hash}`;
}

/** `gpu:a100:2` → { count: 2, type: 'a100' }; other GRES are not GPUs and are not scheduled by Kubernetes. */
export function gpusFromGres(gres: string[]): { count: number; type?: string } | undefined {
  let count = 0;
  let type: string | undefined;
  for (const g of gres) {
    const m = /^gpu(?::([^:]+))?:(\d+)$/.exec(g);
    if (!m) continue;
    count += Number(m[2]);
    type ??= m[1];
  }
  return count ? { count, ...(type ? { type: type.toLowerCase() } : {}) } : undefined;
}

export function createKubernetesIslandLauncher(kc: KubeConfig, options: KubernetesIslandLauncherOptions): IslandLauncher {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const core = kc.makeApiClient(CoreV1Api);
  const { namespace } = options;
  const readyTimeoutMs = options.readyTimeoutMs ?? 10 * 60_000;
  const pollMs = options.pollMs ?? 1000;
  const ref = (plural: 'islands' | 'nodesets', name: string) => ({ group: GROUP, version: VERSION, namespace, plural, name });

  async function apply(plural: 'islands' | 'nodesets', body: Json): Promise<Json> {
    return custom.patchNamespacedCustomObject(
      { ...ref(plural, body.metadata.name), body, fieldManager: FIELD_MANAGER, force: true },
      setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
    );
  }

  async function get(plural: 'islands' | 'nodesets', name: string): Promise<Json | undefined> {
    try {
      return await custom.getNamespacedCustomObject(ref(plural, name));
    } catch (e) {
      if (code(e) === 404) return undefined;
      throw e;
    }
  }

  /** Polls until `done` holds; returns the last object, or undefined when it did not hold in time. */
  async function until(plural: 'islands' | 'nodesets', name: string, timeoutMs: number, done: (o: Json | undefined) => boolean): Promise<{ ok: boolean; last?: Json }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const last = await get(plural, name);
      if (done(last)) return { ok: true, last };
      if (Date.now() >= deadline) return { ok: false, last };
      await new Promise((r) => setTimeout(r, Math.min(pollMs, Math.max(0, deadline - Date.now()))));
    }
  }

  const current = (o: Json | undefined) => o !== undefined && (o.status?.observedGeneration ?? 0) >= (o.metadata?.generation ?? 1);

  return {
    kind: 'kubernetes',

    async ensureIsland(spec: IslandClusterSpec): Promise<LaunchedIsland> {
      await apply('islands', {
        apiVersion: API_VERSION,
        kind: 'Island',
        metadata: { name: spec.name, namespace, labels: { 'archipelago.dev/tier': spec.tier } },
        spec: {
          slurm: { image: options.slurmImage, ...(options.slurmVersion ? { version: options.slurmVersion } : {}) },
          tier: spec.tier,
          boundMs: spec.boundMs,
          partitions: spec.partitions.map((name, i) => ({ name, ...(i === 0 ? { default: true } : {}) })),
        },
      });
      const { ok, last } = await until('islands', spec.name, readyTimeoutMs, (o) => current(o) && o?.status?.phase === 'Ready');
      if (!ok) throw new Error(`island ${spec.name} not ready after ${readyTimeoutMs} ms (phase ${last?.status?.phase ?? 'none'}: ${readyMessage(last)})`);
      const jwtRef = last!.status.endpoints.jwtSecret as { name: string; key: string };
      const secret = await core.readNamespacedSecret({ name: jwtRef.name, namespace });
      const jwt = secret.data?.[jwtRef.key];
      if (!jwt) throw new Error(`Secret ${namespace}/${jwtRef.name} has no key ${jwtRef.key}`);
      return { name: spec.name, restUrl: last!.status.endpoints.restUrl, jwtKey: Buffer.from(jwt, 'base64'), partitions: [...spec.partitions] };
    },

    async joinNode(island: string, member: IslandMemberSpec): Promise<void> {
      const name = nodeSetName(island, member.node);
      const gpus = gpusFromGres(member.gres);
      await apply('nodesets', {
        apiVersion: API_VERSION,
        kind: 'NodeSet',
        metadata: { name, namespace, labels: { 'archipelago.dev/island': island } },
        spec: {
          islandRef: { name: island },
          replicas: 1,
          nodeNames: [member.node],
          cpus: member.cpus,
          memoryMb: member.memoryMb,
          ...(gpus ? { gpus } : {}),
          features: member.features.filter((f) => FEATURE.test(f)),
          nodeSelector: { [options.nodeLabel ?? 'archipelago.dev/node']: member.node },
        },
      });
      const { ok, last } = await until('nodesets', name, readyTimeoutMs, (o) => current(o) && (o?.status?.readyReplicas ?? 0) >= 1);
      if (!ok) throw new Error(`node ${member.node} did not join island ${island} within ${readyTimeoutMs} ms (${readyMessage(last)})`);
    },

    async removeNode(island: string, node: string, opts: { reason: string; timeoutMs: number; force: boolean }): Promise<boolean> {
      const name = nodeSetName(island, node);
      const existing = await get('nodesets', name);
      if (!existing) return true;
      // The operator hands this reason to the pod's preStop drain (scontrol update State=DRAIN Reason=…).
      if (existing.metadata.annotations?.[DRAIN_REASON] !== opts.reason) {
        await custom.patchNamespacedCustomObject(
          { ...ref('nodesets', name), body: { metadata: { annotations: { [DRAIN_REASON]: opts.reason } } } },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        );
      }
      await custom.deleteNamespacedCustomObject(ref('nodesets', name)).catch((e) => {
        if (code(e) !== 404) throw e;
      });
      if ((await until('nodesets', name, opts.timeoutMs, (o) => o === undefined)).ok) return true;
      if (!opts.force) return false;
      // Force: end the drain wait; SLURM requeues or fails the node's jobs when slurmd dies.
      const pods = await core.listNamespacedPod({ namespace, labelSelector: `archipelago.dev/nodeset=${name}` });
      for (const pod of pods.items) {
        await core.deleteNamespacedPod({ name: pod.metadata!.name!, namespace, gracePeriodSeconds: 0 }).catch((e) => {
          if (code(e) !== 404) throw e;
        });
      }
      if ((await until('nodesets', name, Math.max(opts.timeoutMs, 60_000), (o) => o === undefined)).ok) return true;
      throw new Error(`node set ${name} still present after forced removal`);
    },

    async setDrained(island: string, node: string, drained: boolean, reason: string): Promise<void> {
      // A merge patch with null removes the annotation: the node returns to service.
      await custom.patchNamespacedCustomObject(
        { ...ref('nodesets', nodeSetName(island, node)), body: { metadata: { annotations: { [DRAINED]: drained ? reason || 'drained' : null } } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    },

    async retireIsland(name: string): Promise<void> {
      await custom.deleteNamespacedCustomObject(ref('islands', name)).catch((e) => {
        if (code(e) !== 404) throw e;
      });
      const timeout = options.retireTimeoutMs ?? readyTimeoutMs;
      const { ok, last } = await until('islands', name, timeout, (o) => o === undefined);
      if (!ok) throw new Error(`island ${name} still terminating after ${timeout} ms (${readyMessage(last)})`);
    },
  };
}

function readyMessage(o: Json | undefined): string {
  return o?.status?.conditions?.find((c: Json) => c.type === 'Ready')?.message ?? 'no status yet';
}
