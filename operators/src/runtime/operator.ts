import { randomBytes } from 'node:crypto';

import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubernetesObjectApi,
  makeInformer,
  PatchStrategy,
  setHeaderOptions,
  type Informer,
  type KubeConfig,
  type KubernetesObject,
  type ObjectCache,
} from '@kubernetes/client-node';

import {
  ANNOTATIONS,
  API_VERSION,
  customObjects,
  FIELD_MANAGERS,
  GROUP,
  ISLAND_FINALIZER,
  LABELS,
  MANAGED_BY,
  NODESET_FINALIZER,
  PLURALS,
  VERSION,
  type Island,
  type Kind,
  type KubeObject,
  type NodeSet,
} from '../../../contracts/kubernetes/v1alpha1.js';
import { metaTime } from '../reconcile/conditions.js';
import { desiredIslandChildren, generatedSecrets, islandStatus } from '../reconcile/island.js';
import { islandNames } from '../reconcile/names.js';
import { nodeSetStatus, planNodeSet, type ObservedPod } from '../reconcile/nodeset.js';
import type { OperatorMetrics } from './metrics.js';
import { WorkQueue } from './workqueue.js';

export interface OperatorOptions {
  namespace: string;
  workers?: number;
  /** Every object is reconciled again this often, so drift nobody announced is repaired. */
  resyncMs?: number;
  /** Retry backoff of the work queue. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Instance name on Events. */
  identity?: string;
  log?: (line: string) => void;
}

function code(e: unknown): number | undefined {
  return (e as { code?: number })?.code;
}

/** JSON with sorted keys: the server's copy of a status may order its fields differently from ours. */
function canonical(v: unknown): string {
  return JSON.stringify(v ?? null, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => a.localeCompare(b))) : x,
  );
}

/** Whether a computed status differs from the stored one (setCondition keeps transition times stable). */
function sameStatus(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

/**
 * The island and node-set controllers in one process: informers feed a shared work queue keyed by
 * `Kind/namespace/name`; workers run the pure reconcilers against the informer caches and write the
 * difference. Everything the reconcile writes is idempotent (server-side apply, create-if-absent,
 * optimistic merge patches), so a crash at any point is repaired by the next pass.
 */
export class Operator {
  readonly queue: WorkQueue;
  private readonly custom: CustomObjectsApi;
  private readonly core: CoreV1Api;
  private readonly objects: KubernetesObjectApi;
  private islands!: Informer<KubernetesObject> & ObjectCache<KubernetesObject>;
  private nodeSets!: Informer<KubernetesObject> & ObjectCache<KubernetesObject>;
  private pods!: Informer<KubernetesObject> & ObjectCache<KubernetesObject>;
  private statefulSets!: Informer<KubernetesObject> & ObjectCache<KubernetesObject>;
  private deployments!: Informer<KubernetesObject> & ObjectCache<KubernetesObject>;
  private readonly informers: (Informer<KubernetesObject> & ObjectCache<KubernetesObject>)[] = [];
  /** Desired children applied per owner generation: re-applying an unchanged child is skipped until resync. */
  private readonly applied = new Map<string, string>();
  private readonly secretsEnsured = new Set<string>();
  private workers: Promise<void>[] = [];
  private resyncTimer?: NodeJS.Timeout;
  private running = false;
  private readonly opts: Required<Omit<OperatorOptions, 'log'>> & Pick<OperatorOptions, 'log'>;

  constructor(
    private readonly kc: KubeConfig,
    private readonly metrics: OperatorMetrics,
    options: OperatorOptions,
  ) {
    this.opts = { workers: 4, resyncMs: 5 * 60_000, baseDelayMs: 5, maxDelayMs: 300_000, identity: 'archipelago-operator', ...options };
    this.queue = new WorkQueue({ baseDelayMs: this.opts.baseDelayMs, maxDelayMs: this.opts.maxDelayMs });
    this.custom = kc.makeApiClient(CustomObjectsApi);
    this.core = kc.makeApiClient(CoreV1Api);
    this.objects = KubernetesObjectApi.makeApiClient(kc);
  }

  /** Starts informers (waiting for their first list) and workers. Call once this replica leads. */
  async start(): Promise<void> {
    const ns = this.opts.namespace;
    const apps = this.kc.makeApiClient(AppsV1Api);
    const managed = `${LABELS.managedBy}=${MANAGED_BY}`;
    const customInformer = (kind: Kind) =>
      makeInformer(
        this.kc,
        `/apis/${GROUP}/${VERSION}/namespaces/${ns}/${PLURALS[kind]}`,
        () => this.custom.listNamespacedCustomObject(customObjects(kind, ns)) as never,
      );
    this.islands = customInformer('Island');
    this.nodeSets = customInformer('NodeSet');
    // Only slurmd pods: the daemons' pods belong to their StatefulSets and Deployments.
    const slurmd = `${managed},${LABELS.component}=slurmd`;
    this.pods = makeInformer(
      this.kc,
      `/api/v1/namespaces/${ns}/pods`,
      () => this.core.listNamespacedPod({ namespace: ns, labelSelector: slurmd }) as never,
      slurmd,
    );
    this.statefulSets = makeInformer(
      this.kc,
      `/apis/apps/v1/namespaces/${ns}/statefulsets`,
      () => apps.listNamespacedStatefulSet({ namespace: ns, labelSelector: managed }) as never,
      managed,
    );
    this.deployments = makeInformer(
      this.kc,
      `/apis/apps/v1/namespaces/${ns}/deployments`,
      () => apps.listNamespacedDeployment({ namespace: ns, labelSelector: managed }) as never,
      managed,
    );

    const enqueueSelf = (kind: Kind) => (o: KubernetesObject) => this.enqueue(kind, o.metadata?.namespace, o.metadata?.name);
    for (const [inf, kind] of [
      [this.islands, 'Island'],
      [this.nodeSets, 'NodeSet'],
    ] as const) {
      for (const verb of ['add', 'update', 'delete'] as const) inf.on(verb, enqueueSelf(kind));
    }
    // A node set's readiness is part of its island's status.
    for (const verb of ['add', 'update', 'delete'] as const) {
      this.nodeSets.on(verb, (o) => this.enqueue('Island', o.metadata?.namespace, (o as unknown as NodeSet).spec?.islandRef?.name));
    }
    const enqueueOwner = (o: KubernetesObject) => {
      for (const ref of o.metadata?.ownerReferences ?? []) {
        if (ref.controller && (ref.kind === 'Island' || ref.kind === 'NodeSet') && ref.apiVersion === API_VERSION)
          this.enqueue(ref.kind, o.metadata?.namespace, ref.name);
      }
    };
    for (const inf of [this.pods, this.statefulSets, this.deployments]) for (const verb of ['add', 'update', 'delete'] as const) inf.on(verb, enqueueOwner);

    this.informers.push(this.islands, this.nodeSets, this.pods, this.statefulSets, this.deployments);
    for (const inf of this.informers) {
      // A watch that fails (not one that merely ends) stops the informer: restart it after a pause.
      inf.on('error', (err) => {
        if (!this.running) return; // stop() aborts the watches: not an error
        this.opts.log?.(`informer error, restarting in 1 s: ${String((err as Error)?.message ?? err)}`);
        setTimeout(() => void inf.start().catch(() => undefined), 1000).unref();
      });
    }
    this.running = true;
    await Promise.all(this.informers.map((i) => i.start()));
    this.workers = Array.from({ length: this.opts.workers }, () => this.work());
    this.resyncTimer = setInterval(() => this.resync(), this.opts.resyncMs);
    this.resyncTimer.unref();
  }

  /** Graceful shutdown: no new keys, in-flight reconciles finish, watches close. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    this.queue.shutdown();
    await Promise.all(this.workers);
    await Promise.all(this.informers.map((i) => i.stop()));
  }

  private resync(): void {
    this.applied.clear();
    this.secretsEnsured.clear();
    for (const o of this.islands.list()) this.enqueue('Island', o.metadata?.namespace, o.metadata?.name);
    for (const o of this.nodeSets.list()) this.enqueue('NodeSet', o.metadata?.namespace, o.metadata?.name);
  }

  private enqueue(kind: Kind, namespace: string | undefined, name: string | undefined): void {
    if (!namespace || !name) return;
    this.queue.add(`${kind}/${namespace}/${name}`);
    this.metrics.queueDepth.set(this.queue.length);
  }

  private async work(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      this.metrics.queueDepth.set(this.queue.length);
      const [kind, namespace, name] = key.split('/') as [Kind, string, string];
      const end = this.metrics.reconcileSeconds.startTimer({ kind });
      try {
        const requeueMs = kind === 'Island' ? await this.reconcileIsland(namespace, name) : await this.reconcileNodeSet(namespace, name);
        this.queue.forget(key);
        if (requeueMs) this.queue.addAfter(key, requeueMs);
        this.metrics.reconciles.inc({ kind, result: 'ok' });
      } catch (e) {
        // A 409 is another writer winning a race: retry soon, not as an error.
        this.metrics.reconciles.inc({ kind, result: code(e) === 409 ? 'conflict' : 'error' });
        this.metrics.retries.inc({ kind });
        const delay = this.queue.addRateLimited(key);
        this.opts.log?.(`reconcile ${key} failed (retry in ${delay} ms): ${String((e as Error)?.message ?? e)}`);
        if (code(e) !== 409) await this.event(kind, namespace, name, 'Warning', 'ReconcileFailed', String((e as Error)?.message ?? e).slice(0, 1000));
      } finally {
        end();
        this.queue.done(key);
      }
    }
  }

  private write(verb: string, resource: string): void {
    this.metrics.apiWrites.inc({ verb, resource });
  }

  // ---------------------------------------------------------------- Island

  private async reconcileIsland(namespace: string, name: string): Promise<number | void> {
    const island = this.islands.get(name, namespace) as unknown as Island | undefined;
    if (!island) return;
    const nodeSets = (this.nodeSets.list(namespace) as unknown as NodeSet[]).filter((n) => n.spec.islandRef.name === name);

    if (island.metadata.deletionTimestamp) {
      // slurmd pods drain through slurmctld: the controller must outlive every node set of the island.
      if (nodeSets.length) {
        await this.writeIslandStatus(island, nodeSets);
        return;
      }
      if (island.metadata.finalizers?.includes(ISLAND_FINALIZER)) {
        await this.patchFinalizers(
          'Island',
          island,
          island.metadata.finalizers.filter((f) => f !== ISLAND_FINALIZER),
        );
        await this.event('Island', namespace, name, 'Normal', 'Retired', 'all node sets drained; controller daemons removed');
      }
      return;
    }
    if (!island.metadata.finalizers?.includes(ISLAND_FINALIZER)) {
      await this.patchFinalizers('Island', island, [...(island.metadata.finalizers ?? []), ISLAND_FINALIZER]);
      return; // the update event brings the key back with the new resourceVersion
    }

    if (!this.secretsEnsured.has(island.metadata.uid!)) {
      for (const secret of generatedSecrets(island, randomBytes)) {
        try {
          this.write('create', 'secrets');
          await this.objects.create(secret as never, undefined, undefined, FIELD_MANAGERS.operator);
          await this.event('Island', namespace, name, 'Normal', 'KeyGenerated', `generated Secret ${secret.metadata.name}`);
        } catch (e) {
          if (code(e) !== 409) throw e; // already there: keys are never regenerated
        }
      }
      this.secretsEnsured.add(island.metadata.uid!);
    }

    for (const child of desiredIslandChildren(island)) await this.apply(child);
    if (!island.status) await this.event('Island', namespace, name, 'Normal', 'Provisioning', 'applied slurmctld, slurmrestd and their configuration');
    await this.writeIslandStatus(island, nodeSets);
  }

  private async writeIslandStatus(island: Island, nodeSets: NodeSet[]): Promise<void> {
    const { namespace, name } = island.metadata as { namespace: string; name: string };
    const names = islandNames(island);
    const sts = this.statefulSets.get(names.slurmctld, namespace) as { status?: { readyReplicas?: number; replicas?: number } } | undefined;
    const rest = this.deployments.get(names.slurmrestd, namespace) as { status?: { readyReplicas?: number; replicas?: number } } | undefined;
    const dbd = this.deployments.get(names.slurmdbd, namespace) as { status?: { readyReplicas?: number } } | undefined;
    const status = islandStatus(island, { controller: sts && (sts.status ?? {}), restApi: rest?.status, slurmdbd: dbd?.status, nodeSets }, new Date());
    if (sameStatus(status, island.status)) return;
    const wasReady = island.status?.phase === 'Ready';
    await this.patchStatus('Island', island, status);
    if (status.phase === 'Ready' && !wasReady)
      await this.event('Island', namespace, name, 'Normal', 'Ready', `slurmctld and slurmrestd ready at ${status.endpoints?.restUrl}`);
    if (status.phase === 'Degraded' && island.status?.phase !== 'Degraded') {
      await this.event('Island', namespace, name, 'Warning', 'Degraded', status.conditions?.find((c) => c.type === 'Degraded')?.message ?? '');
    }
  }

  /**
   * Server-side apply of one child. Skipped when this content was applied already and the child is still
   * there (for the kinds an informer watches); the resync clears the memory, so drift is repaired anyway.
   */
  private async apply(child: KubeObject): Promise<void> {
    const key = `${child.kind}/${child.metadata.namespace}/${child.metadata.name}`;
    const content = JSON.stringify(child);
    const watched = child.kind === 'StatefulSet' ? this.statefulSets : child.kind === 'Deployment' ? this.deployments : undefined;
    const present = watched ? Boolean(watched.get(child.metadata.name, child.metadata.namespace)) : true;
    if (this.applied.get(key) === content && present) return;
    this.write('apply', child.kind);
    await this.objects.patch(child as never, undefined, undefined, FIELD_MANAGERS.operator, true, PatchStrategy.ServerSideApply);
    this.applied.set(key, content);
  }

  // ---------------------------------------------------------------- NodeSet

  private async reconcileNodeSet(namespace: string, name: string): Promise<number | void> {
    const nodeSet = this.nodeSets.get(name, namespace) as unknown as NodeSet | undefined;
    if (!nodeSet) return;
    const island = this.islands.get(nodeSet.spec.islandRef.name, namespace) as unknown as Island | undefined;
    const pods = (this.pods.list(namespace) as unknown as ObservedPod[]).filter((p) => p.metadata.labels?.[LABELS.nodeSet] === name);
    const deleting = Boolean(nodeSet.metadata.deletionTimestamp);

    if (!deleting && !nodeSet.metadata.finalizers?.includes(NODESET_FINALIZER)) {
      await this.patchFinalizers('NodeSet', nodeSet, [...(nodeSet.metadata.finalizers ?? []), NODESET_FINALIZER]);
      return;
    }
    const plan = planNodeSet(nodeSet, island, pods);
    for (const { name: pod, reason } of plan.delete) {
      // The reason reaches the preStop drain through the downward API before the pod is told to stop.
      await this.annotatePod(namespace, pod, { [ANNOTATIONS.drainReason]: reason });
      this.write('delete', 'pods');
      await this.core.deleteNamespacedPod({ name: pod, namespace }).catch((e) => {
        if (code(e) !== 404) throw e;
      });
    }
    for (const { name: pod, drained } of plan.annotate) {
      // slurmd-run sees the annotation through the downward API and drains or resumes the node.
      await this.annotatePod(namespace, pod, { [ANNOTATIONS.drained]: drained });
    }
    if (plan.annotate.length) {
      const reason = plan.annotate[0].drained;
      await this.event(
        'NodeSet',
        namespace,
        name,
        'Normal',
        reason === null ? 'Resumed' : 'Drained',
        reason === null ? 'returned to service' : `drained: ${reason}`,
      );
    }
    for (const pod of plan.create) {
      this.write('create', 'pods');
      await this.core.createNamespacedPod({ namespace, body: pod as never }).catch((e) => {
        if (code(e) !== 409) throw e;
      });
    }
    if (plan.delete.length)
      await this.event('NodeSet', namespace, name, 'Normal', 'Draining', `draining ${plan.delete.map((d) => d.name).join(', ')}: ${plan.delete[0].reason}`);

    if (deleting) {
      if (pods.length === 0 && plan.delete.length === 0 && nodeSet.metadata.finalizers?.includes(NODESET_FINALIZER)) {
        await this.patchFinalizers(
          'NodeSet',
          nodeSet,
          nodeSet.metadata.finalizers.filter((f) => f !== NODESET_FINALIZER),
        );
        await this.event('NodeSet', namespace, name, 'Normal', 'Drained', 'every slurmd left its island');
        return;
      }
    }
    const status = nodeSetStatus(nodeSet, island, pods, new Date());
    if (!sameStatus(status, nodeSet.status)) await this.patchStatus('NodeSet', nodeSet, status);
    // Without its island nothing is watched that would bring the key back: poll.
    return island ? undefined : 10_000;
  }

  // ---------------------------------------------------------------- writes

  private async patchFinalizers(kind: Kind, o: Island | NodeSet, finalizers: string[]): Promise<void> {
    this.write('patch', kind);
    // resourceVersion in a merge patch is a precondition: a stale cache gives 409 and a retry, never a lost finalizer.
    await this.custom.patchNamespacedCustomObject(
      { ...customObjects(kind, o.metadata.namespace!), name: o.metadata.name, body: { metadata: { finalizers, resourceVersion: o.metadata.resourceVersion } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  }

  /** Merge patch of a pod's annotations (null removes one); a pod already gone needs none. */
  private async annotatePod(namespace: string, name: string, annotations: Record<string, string | null>): Promise<void> {
    this.write('patch', 'pods');
    await this.core
      .patchNamespacedPod({ name, namespace, body: { metadata: { annotations } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch))
      .catch((e) => {
        if (code(e) !== 404) throw e;
      });
  }

  private async patchStatus(kind: Kind, o: Island | NodeSet, status: unknown): Promise<void> {
    this.write('patch', `${kind}/status`);
    await this.custom.patchNamespacedCustomObjectStatus(
      { ...customObjects(kind, o.metadata.namespace!), name: o.metadata.name, body: { metadata: { resourceVersion: o.metadata.resourceVersion }, status } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  }

  private async event(kind: Kind, namespace: string, name: string, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    const owner = (kind === 'Island' ? this.islands : this.nodeSets).get(name, namespace);
    const now = new Date();
    try {
      this.write('create', 'events');
      await this.core.createNamespacedEvent({
        namespace,
        body: {
          apiVersion: 'v1',
          kind: 'Event',
          metadata: { generateName: `${name}.`, namespace },
          involvedObject: { apiVersion: API_VERSION, kind, name, namespace, uid: owner?.metadata?.uid },
          reason,
          message,
          type,
          count: 1,
          firstTimestamp: metaTime(now) as unknown as Date,
          lastTimestamp: metaTime(now) as unknown as Date,
          source: { component: MANAGED_BY },
          reportingComponent: `${GROUP}/operator`,
          reportingInstance: this.opts.identity,
        },
      });
    } catch (e) {
      // Events are best effort: losing one must not fail or retry a reconcile.
      this.opts.log?.(`event ${reason} on ${kind} ${namespace}/${name} not recorded: ${String((e as Error)?.message ?? e)}`);
    }
  }
}
