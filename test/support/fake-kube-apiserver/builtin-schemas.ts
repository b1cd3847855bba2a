import type { Schema } from './structural-schema.js';

/**
 * A committed subset of the Kubernetes 1.30 OpenAPI schemas of the built-in kinds Archipelago writes:
 * exactly the fields its manifests (k8s/) and its operators use, with their real types, required fields and
 * enums. Validated strictly, a field outside the subset is an error, so a misspelt or unplanned field fails a
 * test instead of being silently dropped by a real API server. Subtrees marked preserve-unknown (resource
 * quantities, tolerations, RBAC rules' extras) are checked only for their type. This is not kubeconform:
 * fields nobody here uses are simply absent.
 */
const str = (extra: Partial<Schema> = {}): Schema => ({ type: 'string', ...extra });
const int = (extra: Partial<Schema> = {}): Schema => ({ type: 'integer', ...extra });
const bool: Schema = { type: 'boolean' };
const arr = (items: Schema, extra: Partial<Schema> = {}): Schema => ({ type: 'array', items, ...extra });
const obj = (properties: Record<string, Schema>, required: string[] = []): Schema => ({ type: 'object', properties, ...(required.length ? { required } : {}) });
const stringMap: Schema = { type: 'object', additionalProperties: { type: 'string' } };
const open: Schema = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
const intOrString: Schema = { 'x-kubernetes-int-or-string': true };

const ownerReference = obj({ apiVersion: str(), kind: str(), name: str(), uid: str(), controller: bool, blockOwnerDeletion: bool }, [
  'apiVersion',
  'kind',
  'name',
  'uid',
]);
const objectMeta = obj({
  name: str(),
  generateName: str(),
  namespace: str(),
  uid: str(),
  resourceVersion: str(),
  generation: int(),
  creationTimestamp: str(),
  deletionTimestamp: str(),
  deletionGracePeriodSeconds: int(),
  labels: stringMap,
  annotations: stringMap,
  finalizers: arr(str()),
  ownerReferences: arr(ownerReference),
  managedFields: arr(open),
});
const labelSelector = obj({
  matchLabels: stringMap,
  matchExpressions: arr(obj({ key: str(), operator: str({ enum: ['In', 'NotIn', 'Exists', 'DoesNotExist'] }), values: arr(str()) }, ['key', 'operator'])),
});
const keySelector = obj({ name: str(), key: str(), optional: bool }, ['key']);
const envVar = obj(
  {
    name: str(),
    value: str(),
    valueFrom: obj({ secretKeyRef: keySelector, configMapKeyRef: keySelector, fieldRef: obj({ fieldPath: str(), apiVersion: str() }, ['fieldPath']) }),
  },
  ['name'],
);
const probe = obj({
  tcpSocket: obj({ port: intOrString }, ['port']),
  httpGet: obj({ path: str(), port: intOrString, scheme: str({ enum: ['HTTP', 'HTTPS'] }) }, ['port']),
  exec: obj({ command: arr(str()) }),
  initialDelaySeconds: int(),
  periodSeconds: int(),
  timeoutSeconds: int(),
  failureThreshold: int(),
  successThreshold: int(),
});
const fileMode = int({ minimum: 0, maximum: 0o777 });
const keyToPath = obj({ key: str(), path: str(), mode: fileMode }, ['key', 'path']);
const container = obj(
  {
    name: str(),
    image: str(),
    imagePullPolicy: str({ enum: ['Always', 'IfNotPresent', 'Never'] }),
    command: arr(str()),
    args: arr(str()),
    workingDir: str(),
    env: arr(envVar),
    envFrom: arr(obj({ secretRef: obj({ name: str(), optional: bool }), configMapRef: obj({ name: str(), optional: bool }) })),
    ports: arr(obj({ name: str(), containerPort: int({ minimum: 1, maximum: 65535 }), protocol: str({ enum: ['TCP', 'UDP', 'SCTP'] }) }, ['containerPort'])),
    resources: open,
    readinessProbe: probe,
    livenessProbe: probe,
    startupProbe: probe,
    lifecycle: obj({ preStop: obj({ exec: obj({ command: arr(str()) }) }) }),
    securityContext: obj({
      privileged: bool,
      runAsNonRoot: bool,
      runAsUser: int(),
      runAsGroup: int(),
      readOnlyRootFilesystem: bool,
      allowPrivilegeEscalation: bool,
      capabilities: obj({ add: arr(str()), drop: arr(str()) }),
    }),
    volumeMounts: arr(obj({ name: str(), mountPath: str(), subPath: str(), readOnly: bool }, ['name', 'mountPath'])),
  },
  ['name'],
);
const volume = obj(
  {
    name: str(),
    configMap: obj({ name: str(), items: arr(keyToPath), defaultMode: fileMode, optional: bool }),
    secret: obj({ secretName: str(), items: arr(keyToPath), defaultMode: fileMode, optional: bool }),
    downwardAPI: obj({ items: arr(obj({ path: str(), fieldRef: obj({ fieldPath: str() }, ['fieldPath']) }, ['path'])), defaultMode: fileMode }),
    emptyDir: obj({ medium: str(), sizeLimit: str() }),
    persistentVolumeClaim: obj({ claimName: str(), readOnly: bool }, ['claimName']),
  },
  ['name'],
);
const podSpec = obj(
  {
    containers: arr(container, { minItems: 1 }),
    initContainers: arr(container),
    volumes: arr(volume),
    hostname: str({ maxLength: 63 }),
    subdomain: str(),
    restartPolicy: str({ enum: ['Always', 'OnFailure', 'Never'] }),
    enableServiceLinks: bool,
    terminationGracePeriodSeconds: int({ minimum: 0 }),
    nodeSelector: stringMap,
    tolerations: arr(open),
    nodeName: str(),
    serviceAccountName: str(),
    automountServiceAccountToken: bool,
    securityContext: obj({
      runAsNonRoot: bool,
      runAsUser: int(),
      runAsGroup: int(),
      fsGroup: int(),
      seccompProfile: obj({ type: str({ enum: ['RuntimeDefault', 'Localhost', 'Unconfined'] }) }, ['type']),
    }),
  },
  ['containers'],
);
const podTemplate = obj({ metadata: objectMeta, spec: podSpec });
const pvc = obj({
  metadata: objectMeta,
  spec: obj({
    accessModes: arr(str({ enum: ['ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOncePod'] })),
    resources: obj({ requests: stringMap }),
    storageClassName: str(),
  }),
});
const top = (spec: Record<string, Schema>, required: string[] = []) =>
  obj({ apiVersion: str(), kind: str(), metadata: objectMeta, ...spec }, ['apiVersion', 'kind', 'metadata', ...required]);
const workloadStatus = obj({
  replicas: int(),
  readyReplicas: int(),
  availableReplicas: int(),
  updatedReplicas: int(),
  currentReplicas: int(),
  observedGeneration: int(),
});
const policyRule = obj(
  {
    apiGroups: arr(str()),
    resources: arr(str()),
    resourceNames: arr(str()),
    verbs: arr(str({ enum: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection'] }), { minItems: 1 }),
  },
  ['verbs'],
);
const subject = obj({ kind: str({ enum: ['ServiceAccount', 'User', 'Group'] }), name: str(), namespace: str(), apiGroup: str() }, ['kind', 'name']);
const roleRef = obj({ apiGroup: str({ enum: ['rbac.authorization.k8s.io'] }), kind: str({ enum: ['Role', 'ClusterRole'] }), name: str() }, [
  'apiGroup',
  'kind',
  'name',
]);

export const BUILTIN_SCHEMAS: Record<string, Schema> = {
  Namespace: top({ spec: open, status: open }),
  ConfigMap: top({ data: stringMap, binaryData: stringMap, immutable: bool }),
  Secret: top({ type: str(), data: stringMap, stringData: stringMap, immutable: bool }),
  ServiceAccount: top({ automountServiceAccountToken: bool }),
  Service: top({
    spec: obj({
      type: str({ enum: ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'] }),
      clusterIP: str(),
      publishNotReadyAddresses: bool,
      selector: stringMap,
      ports: arr(
        obj(
          { name: str(), port: int({ minimum: 1, maximum: 65535 }), targetPort: intOrString, protocol: str({ enum: ['TCP', 'UDP', 'SCTP'] }), nodePort: int() },
          ['port'],
        ),
      ),
    }),
    status: open,
  }),
  Pod: top(
    {
      spec: podSpec,
      status: obj({
        phase: str({ enum: ['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown'] }),
        conditions: arr(obj({ type: str(), status: str({ enum: ['True', 'False', 'Unknown'] }) }, ['type', 'status'])),
        podIP: str(),
        hostIP: str(),
      }),
    },
    ['spec'],
  ),
  Deployment: top(
    {
      spec: obj(
        {
          replicas: int({ minimum: 0 }),
          selector: labelSelector,
          template: podTemplate,
          revisionHistoryLimit: int(),
          strategy: obj({ type: str({ enum: ['Recreate', 'RollingUpdate'] }), rollingUpdate: obj({ maxUnavailable: intOrString, maxSurge: intOrString }) }),
        },
        ['selector', 'template'],
      ),
      status: workloadStatus,
    },
    ['spec'],
  ),
  StatefulSet: top(
    {
      spec: obj(
        {
          replicas: int({ minimum: 0 }),
          serviceName: str(),
          selector: labelSelector,
          template: podTemplate,
          podManagementPolicy: str({ enum: ['OrderedReady', 'Parallel'] }),
          volumeClaimTemplates: arr(pvc),
          persistentVolumeClaimRetentionPolicy: obj({ whenDeleted: str({ enum: ['Retain', 'Delete'] }), whenScaled: str({ enum: ['Retain', 'Delete'] }) }),
        },
        ['selector', 'template'],
      ),
      status: workloadStatus,
    },
    ['spec'],
  ),
  Lease: top({
    spec: obj({
      holderIdentity: { type: 'string', nullable: true },
      leaseDurationSeconds: int(),
      acquireTime: { type: 'string', nullable: true },
      renewTime: { type: 'string', nullable: true },
      leaseTransitions: int(),
    }),
  }),
  Event: top(
    {
      involvedObject: obj({ apiVersion: str(), kind: str(), name: str(), namespace: str(), uid: str(), resourceVersion: str() }),
      reason: str(),
      message: str(),
      type: str({ enum: ['Normal', 'Warning'] }),
      count: int(),
      firstTimestamp: str(),
      lastTimestamp: str(),
      eventTime: { type: 'string', nullable: true },
      source: obj({ component: str(), host: str() }),
      reportingComponent: str(),
      reportingInstance: str(),
      action: str(),
    },
    ['involvedObject'],
  ),
  Role: top({ rules: arr(policyRule) }),
  ClusterRole: top({ rules: arr(policyRule) }),
  RoleBinding: top({ subjects: arr(subject), roleRef }, ['roleRef']),
  ClusterRoleBinding: top({ subjects: arr(subject), roleRef }, ['roleRef']),
  CustomResourceDefinition: top(
    {
      spec: obj(
        {
          group: str(),
          scope: str({ enum: ['Namespaced', 'Cluster'] }),
          names: obj({ kind: str(), listKind: str(), plural: str(), singular: str(), shortNames: arr(str()), categories: arr(str()) }, ['kind', 'plural']),
          versions: arr(
            obj(
              {
                name: str(),
                served: bool,
                storage: bool,
                subresources: open,
                schema: obj({ openAPIV3Schema: open }, ['openAPIV3Schema']),
                additionalPrinterColumns: arr(
                  obj(
                    {
                      name: str(),
                      type: str({ enum: ['integer', 'number', 'string', 'boolean', 'date'] }),
                      jsonPath: str(),
                      description: str(),
                      priority: int(),
                    },
                    ['name', 'type', 'jsonPath'],
                  ),
                ),
              },
              ['name', 'served', 'storage'],
            ),
            { minItems: 1 },
          ),
        },
        ['group', 'scope', 'names', 'versions'],
      ),
      status: open,
    },
    ['spec'],
  ),
  PodDisruptionBudget: top({ spec: obj({ selector: labelSelector, minAvailable: intOrString, maxUnavailable: intOrString }) }),
};
