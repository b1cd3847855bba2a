// @kubernetes/client-node 1.x is ESM-only; this CommonJS build loads it through Node's require(esm) (≥ 20.19).
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';

import {
  ANNOTATIONS,
  customObjects,
  FIELD_MANAGERS,
  LABELS,
  type Island,
  type IslandApply,
  type Kind,
  type NodeSet,
  type NodeSetApply,
  type ResourceOfKind,
} from '../../../contracts/kubernetes/v1alpha1';
import type { IslandClusterSpec, IslandLauncher, IslandMemberSpec, LaunchedIsland } from '../../core/islands/island-launcher.port';
import { islandResource, nodeSetName, nodeSetResource } from './kubernetes-island-resources';

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

function code(e: unknown): number | undefined {
  return (e as { code?: number })?.code;
}

export function createKubernetesIslandLauncher(kc: KubeConfig, options: KubernetesIslandLauncherOptions): IslandLauncher {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const core = kc.makeApiClient(CoreV1Api);
  const { namespace } = options;
  const readyTimeoutMs = options.readyTimeoutMs ?? 10 * 60_000;
  const pollMs = options.pollMs ?? 1000;
  const ref = (kind: Kind, name: string) => ({ ...customObjects(kind, namespace), name });

  async function apply(body: IslandApply | NodeSetApply): Promise<void> {
    await custom.patchNamespacedCustomObject(
      { ...ref(body.kind, body.metadata.name), body, fieldManager: FIELD_MANAGERS.controlPlane, force: true },
      setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
    );
  }

  async function get<K extends Kind>(kind: K, name: string): Promise<ResourceOfKind[K] | undefined> {
    try {
      return await custom.getNamespacedCustomObject(ref(kind, name));
    } catch (e) {
      if (code(e) === 404) return undefined;
      throw e;
    }
  }

  /** Polls until `done` holds; returns the last object, or undefined when it did not hold in time. */
  async function until<K extends Kind>(
    kind: K,
    name: string,
    timeoutMs: number,
    done: (o: ResourceOfKind[K] | undefined) => boolean,
  ): Promise<{ ok: boolean; last?: ResourceOfKind[K] }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const last = await get(kind, name);
      if (done(last)) return { ok: true, last };
      if (Date.now() >= deadline) return { ok: false, last };
      await new Promise((r) => setTimeout(r, Math.min(pollMs, Math.max(0, deadline - Date.now()))));
    }
  }

  /** Merge patch of a NodeSet's annotations; null removes one. */
  async function annotateNodeSet(name: string, annotations: Record<string, string | null>): Promise<void> {
    await custom.patchNamespacedCustomObject(
      { ...ref('NodeSet', name), body: { metadata: { annotations } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  }

  return {
    kind: 'kubernetes',

    async ensureIsland(spec: IslandClusterSpec): Promise<LaunchedIsland> {
      await apply(islandResource(spec, options));
      const { ok, last } = await until('Island', spec.name, readyTimeoutMs, (o) => current(o) && o?.status?.phase === 'Ready');
      if (!ok) throw new Error(`island ${spec.name} not ready after ${readyTimeoutMs} ms (phase ${last?.status?.phase ?? 'none'}: ${readyMessage(last)})`);
      // The operator writes the endpoints with every status, so a Ready island has them.
      const endpoints = last!.status!.endpoints!;
      const secret = await core.readNamespacedSecret({ name: endpoints.jwtSecret.name, namespace });
      const jwt = secret.data?.[endpoints.jwtSecret.key];
      if (!jwt) throw new Error(`Secret ${namespace}/${endpoints.jwtSecret.name} has no key ${endpoints.jwtSecret.key}`);
      return { name: spec.name, restUrl: endpoints.restUrl, jwtKey: Buffer.from(jwt, 'base64'), partitions: [...spec.partitions] };
    },

    async joinNode(island: string, member: IslandMemberSpec): Promise<void> {
      const body = nodeSetResource(island, member, options);
      await apply(body);
      const { ok, last } = await until('NodeSet', body.metadata.name, readyTimeoutMs, (o) => current(o) && (o?.status?.readyReplicas ?? 0) >= 1);
      if (!ok) throw new Error(`node ${member.node} did not join island ${island} within ${readyTimeoutMs} ms (${readyMessage(last)})`);
    },

    async removeNode(island: string, node: string, opts: { reason: string; timeoutMs: number; force: boolean }): Promise<boolean> {
      const name = nodeSetName(island, node);
      const existing = await get('NodeSet', name);
      if (!existing) return true;
      // The operator hands this reason to the pod's preStop drain (scontrol update State=DRAIN Reason=…).
      if (existing.metadata.annotations?.[ANNOTATIONS.drainReason] !== opts.reason) await annotateNodeSet(name, { [ANNOTATIONS.drainReason]: opts.reason });
      await custom.deleteNamespacedCustomObject(ref('NodeSet', name)).catch((e) => {
        if (code(e) !== 404) throw e;
      });
      if ((await until('NodeSet', name, opts.timeoutMs, (o) => o === undefined)).ok) return true;
      if (!opts.force) return false;
      // Force: end the drain wait; SLURM requeues or fails the node's jobs when slurmd dies.
      const pods = await core.listNamespacedPod({ namespace, labelSelector: `${LABELS.nodeSet}=${name}` });
      for (const pod of pods.items) {
        await core.deleteNamespacedPod({ name: pod.metadata!.name!, namespace, gracePeriodSeconds: 0 }).catch((e) => {
          if (code(e) !== 404) throw e;
        });
      }
      if ((await until('NodeSet', name, Math.max(opts.timeoutMs, 60_000), (o) => o === undefined)).ok) return true;
      throw new Error(`node set ${name} still present after forced removal`);
    },

    async setDrained(island: string, node: string, drained: boolean, reason: string): Promise<void> {
      // A merge patch with null removes the annotation: the node returns to service.
      await annotateNodeSet(nodeSetName(island, node), { [ANNOTATIONS.drained]: drained ? reason || 'drained' : null });
    },

    async retireIsland(name: string): Promise<void> {
      await custom.deleteNamespacedCustomObject(ref('Island', name)).catch((e) => {
        if (code(e) !== 404) throw e;
      });
      const timeout = options.retireTimeoutMs ?? readyTimeoutMs;
      const { ok, last } = await until('Island', name, timeout, (o) => o === undefined);
      if (!ok) throw new Error(`island ${name} still terminating after ${timeout} ms (${readyMessage(last)})`);
    },
  };
}

/** Whether the status speaks for the current spec (the operator has seen this generation). */
function current(o: Island | NodeSet | undefined): boolean {
  return o !== undefined && (o.status?.observedGeneration ?? 0) >= (o.metadata.generation ?? 1);
}

function readyMessage(o: Island | NodeSet | undefined): string {
  return o?.status?.conditions?.find((c) => c.type === 'Ready')?.message ?? 'no status yet';
}
