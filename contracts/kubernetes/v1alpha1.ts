/**
 * The archipelago.dev/v1alpha1 contract between the control plane's Kubernetes island launcher
 * (src/clusters/launchers) and the Island and NodeSet operators (operators/): the resources' types and every
 * name both sides must agree on. The CRDs in k8s/crds are the source of truth for the shape;
 * test/unit/kubernetes-contract.test.ts compares these types and names with them, field by field.
 *
 * One source, two module systems: the app's tsconfig.json (CommonJS) and operators/tsconfig.json (NodeNext,
 * ESM) both compile this folder. The package.json beside this file makes it ESM for the operators' build,
 * whose output lies inside the ESM package operators/; the app's `module: commonjs` ignores it and emits
 * CommonJS into dist/. That works only because this file imports nothing (nothing to resolve in two module
 * systems, no runtime dependency): keep it so; the contract test checks.
 */
export const GROUP = 'archipelago.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}` as const;

export type Kind = 'Island' | 'NodeSet';
export const PLURALS = { Island: 'islands', NodeSet: 'nodesets' } as const satisfies Record<Kind, string>;

/** The coordinates of one kind's collection in a namespace, as client-node's CustomObjectsApi takes them. */
export function customObjects(kind: Kind, namespace: string) {
  return { group: GROUP, version: VERSION, namespace, plural: PLURALS[kind] };
}

/** Finalizers follow the `<kind>.<group>/<purpose>` convention. */
export const ISLAND_FINALIZER = 'island.archipelago.dev/nodesets-drained';
export const NODESET_FINALIZER = 'nodeset.archipelago.dev/slurmd-drained';

/**
 * Server-side apply field managers. Two appliers, two names: the control plane owns the Island and NodeSet
 * specs it applies, the operator the children it applies; sharing a name would let one strip the other's fields.
 */
export const FIELD_MANAGERS = { controlPlane: 'archipelago-control-plane', operator: 'archipelago-operator' } as const;

export const LABELS = {
  managedBy: 'app.kubernetes.io/managed-by',
  component: 'app.kubernetes.io/component',
  /** On an island's children and on slurmd pods; on a NodeSet written by the control plane. */
  island: 'archipelago.dev/island',
  /** On slurmd pods: the control plane lists a node set's pods by it for a forced removal. */
  nodeSet: 'archipelago.dev/nodeset',
  ordinal: 'archipelago.dev/ordinal',
  /** On an Island written by the control plane: the latency tier it was formed under. */
  tier: 'archipelago.dev/tier',
  /** The Kubernetes node label a member's slurmd pod is pinned by (the launcher's default). */
  node: 'archipelago.dev/node',
} as const;
/** The value of LABELS.managedBy on everything the operator creates. */
export const MANAGED_BY = 'archipelago-operator';

export const ANNOTATIONS = {
  configHash: 'archipelago.dev/config-hash',
  templateHash: 'archipelago.dev/template-hash',
  /** On a NodeSet (set by the control plane before it deletes one) and on a leaving pod: the reason slurmd is drained with. */
  drainReason: 'archipelago.dev/drain-reason',
  /** On a NodeSet (set by the control plane) and copied to its pods: drained in SLURM while present; the value is the reason. */
  drained: 'archipelago.dev/drained',
} as const;

/** A SLURM node feature as the NodeSet CRD admits it (spec.features). */
export const NODE_FEATURE = /^[A-Za-z0-9_.:-]{1,64}$/;

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: OwnerReference[];
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** Any object the reconcilers produce or observe, in its JSON form. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

/** A custom resource of this group. Status is the operator's to write. */
export interface CustomResource<K extends Kind, Spec, Status> {
  apiVersion: typeof API_VERSION;
  kind: K;
  metadata: ObjectMeta;
  spec: Spec;
  status?: Status;
}

/*
 * Each spec comes in two forms. `…SpecApply` is what a writer sends: optional wherever the CRD does not
 * require the field. `…Spec` is what the API server stores and returns: the same plus every field the CRD
 * defaults, so optional there means "optional in the CRD and without a default".
 */

export interface SecretKeyRef {
  name: string;
  key: string;
}

/** core/v1 ResourceRequirements, passed through to the container untouched. */
export type ResourceRequirements = Record<string, unknown>;

export interface VolumeStorage {
  size?: string;
  storageClassName?: string;
}

export type ServiceType = 'ClusterIP' | 'NodePort' | 'LoadBalancer';

export interface IslandSpecApply {
  slurm: { image: string; version?: string };
  tier?: string;
  boundMs?: number;
  maxNodes?: number;
  controller?: { resources?: ResourceRequirements; storage?: VolumeStorage };
  partitions: { name: string; default?: boolean; maxTimeMinutes?: number }[];
  accounting?: { enabled?: boolean; storage?: VolumeStorage; databaseImage?: string };
  restApi?: { replicas?: number; serviceType?: ServiceType };
  secrets?: { mungeKeyRef?: SecretKeyRef; jwtKeyRef?: SecretKeyRef };
}

/** What the Island CRD defaults. */
interface IslandSpecDefaults {
  slurm: { version: string };
  maxNodes: number;
  controller: { storage: { size: string } };
  accounting: { enabled: boolean; storage: { size: string }; databaseImage: string };
  restApi: { replicas: number; serviceType: ServiceType };
  secrets: NonNullable<IslandSpecApply['secrets']>;
}

export type IslandSpec = IslandSpecApply & IslandSpecDefaults;

export interface ConditionStatus {
  type: 'Ready' | 'Progressing' | 'Degraded';
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export interface ReadyCount {
  ready: number;
  total: number;
}

/** As the operator writes it (the CRD requires less: the operator always writes these). */
export interface IslandStatus {
  phase?: 'Pending' | 'Provisioning' | 'Ready' | 'Degraded' | 'Terminating';
  observedGeneration?: number;
  endpoints?: { restUrl: string; controller: string; jwtSecret: SecretKeyRef };
  controller?: ReadyCount;
  restApi?: ReadyCount;
  nodes?: ReadyCount;
  configHash?: string;
  conditions?: ConditionStatus[];
}

export interface Toleration {
  key?: string;
  operator?: 'Exists' | 'Equal';
  value?: string;
  effect?: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
  tolerationSeconds?: number;
}

export interface NodeSetSpecApply {
  islandRef: { name: string };
  replicas?: number;
  nodeNames?: string[];
  cpus?: number;
  memoryMb?: number;
  gpus?: { count?: number; type?: string; resourceName?: string };
  features?: string[];
  resources?: ResourceRequirements;
  nodeSelector?: Record<string, string>;
  tolerations?: Toleration[];
  drainTimeoutSeconds?: number;
}

/** What the NodeSet CRD defaults (inside gpus only when gpus is given). */
interface NodeSetSpecDefaults {
  replicas: number;
  gpus?: { count: number; resourceName: string };
  drainTimeoutSeconds: number;
}

export type NodeSetSpec = NodeSetSpecApply & NodeSetSpecDefaults;

/** As the operator writes it. */
export interface NodeSetStatus {
  phase?: 'Pending' | 'Scaling' | 'Ready' | 'Degraded' | 'Terminating';
  observedGeneration?: number;
  replicas?: number;
  readyReplicas?: number;
  updatedReplicas?: number;
  drainingReplicas?: number;
  selector?: string;
  endpoints?: { controller: string };
  conditions?: ConditionStatus[];
}

export type Island = CustomResource<'Island', IslandSpec, IslandStatus>;
export type NodeSet = CustomResource<'NodeSet', NodeSetSpec, NodeSetStatus>;
/** What the control plane applies: the spec as written, never a status. */
export type IslandApply = CustomResource<'Island', IslandSpecApply, never>;
export type NodeSetApply = CustomResource<'NodeSet', NodeSetSpecApply, never>;

/** The stored resource of each kind. */
export interface ResourceOfKind {
  Island: Island;
  NodeSet: NodeSet;
}
