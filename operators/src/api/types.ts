/**
 * The archipelago.dev/v1alpha1 custom resources as the operators read them. The CRDs in k8s/crds are the
 * source of truth for their shape (the API server validates and defaults against them); these types mirror
 * the defaulted form, so optional here means "optional in the CRD and without a default".
 */
export const GROUP = 'archipelago.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

export const ISLAND_PLURAL = 'islands';
export const NODESET_PLURAL = 'nodesets';

/** Finalizers follow the `<kind>.<group>/<purpose>` convention. */
export const ISLAND_FINALIZER = 'island.archipelago.dev/nodesets-drained';
export const NODESET_FINALIZER = 'nodeset.archipelago.dev/slurmd-drained';

export const FIELD_MANAGER = 'archipelago-operator';

export const LABELS = {
  managedBy: 'app.kubernetes.io/managed-by',
  component: 'app.kubernetes.io/component',
  island: 'archipelago.dev/island',
  nodeSet: 'archipelago.dev/nodeset',
  ordinal: 'archipelago.dev/ordinal',
} as const;
export const MANAGED_BY = 'archipelago-operator';

export const ANNOTATIONS = {
  configHash: 'archipelago.dev/config-hash',
  templateHash: 'archipelago.dev/template-hash',
  drainReason: 'archipelago.dev/drain-reason',
  /** On a NodeSet (set by the control plane) and copied to its pods: drained in SLURM while present; the value is the reason. */
  drained: 'archipelago.dev/drained',
} as const;

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

export interface ConditionStatus {
  type: 'Ready' | 'Progressing' | 'Degraded';
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export interface SecretKeyRef {
  name: string;
  key: string;
}

/** core/v1 ResourceRequirements, passed through to the container untouched. */
export type Resources = Record<string, unknown>;

export interface IslandSpec {
  slurm: { image: string; version: string };
  tier?: string;
  boundMs?: number;
  maxNodes: number;
  controller: { resources?: Resources; storage: { size: string; storageClassName?: string } };
  partitions: { name: string; default?: boolean; maxTimeMinutes?: number }[];
  accounting: { enabled: boolean; storage: { size: string; storageClassName?: string }; databaseImage: string };
  restApi: { replicas: number; serviceType: 'ClusterIP' | 'NodePort' | 'LoadBalancer' };
  secrets: { mungeKeyRef?: SecretKeyRef; jwtKeyRef?: SecretKeyRef };
}

export interface ReadyCount {
  ready: number;
  total: number;
}

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

export interface Island {
  apiVersion: typeof API_VERSION;
  kind: 'Island';
  metadata: ObjectMeta;
  spec: IslandSpec;
  status?: IslandStatus;
}

export interface NodeSetSpec {
  islandRef: { name: string };
  replicas: number;
  nodeNames?: string[];
  cpus?: number;
  memoryMb?: number;
  gpus?: { count: number; type?: string; resourceName: string };
  features?: string[];
  resources?: Resources;
  nodeSelector?: Record<string, string>;
  tolerations?: Record<string, unknown>[];
  drainTimeoutSeconds: number;
}

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

export interface NodeSet {
  apiVersion: typeof API_VERSION;
  kind: 'NodeSet';
  metadata: ObjectMeta;
  spec: NodeSetSpec;
  status?: NodeSetStatus;
}

/** Any object the reconcilers produce or observe, in its JSON form. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}
