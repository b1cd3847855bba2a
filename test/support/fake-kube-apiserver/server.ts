import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { BUILTIN_SCHEMAS } from './builtin-schemas.js';
import { admit, validate, type FieldError, type Schema } from './structural-schema.js';

/**
 * An in-process Kubernetes API server for tests: real HTTP on a loopback port, spoken to by the real
 * @kubernetes/client-node. It keeps objects in memory and enforces the rules the operators depend on:
 * CRD schema pruning/defaulting/validation, the status subresource, generation bumps on spec change only,
 * resourceVersion preconditions (409), finalizers and deletionTimestamp, background cascading deletion by
 * ownerReferences, namespaces that must exist, watches with resourceVersion resume, bookmarks and 410 Gone,
 * Lease MicroTime precision, merge patch and server-side apply (with field managers, without conflicts).
 * Nothing runs pods: tests play the kubelet and the workload controllers by writing status themselves.
 */

export interface FakeApiServerOptions {
  /** Watch events kept per resource type; a watch from an older resourceVersion gets 410 Gone. */
  watchHistory?: number;
  /** Server-side watch timeout (the real one closes watches after 30–60 minutes). */
  watchTimeoutMs?: number;
  bookmarkIntervalMs?: number;
}

interface ResourceType {
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
  status: boolean;
  /** Spec changes bump metadata.generation (custom resources and workload kinds). */
  generation: boolean;
  /** A CRD's openAPIV3Schema: pruned, defaulted and validated on every write. */
  crdSchema?: Schema;
  /** Built-in kinds: the committed schema subset, validated without pruning. */
  builtinSchema?: Schema;
  verbs: string[];
}

type Obj = Record<string, any>;

interface WatchEvent {
  rv: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: Obj;
}

interface Watcher {
  namespace?: string;
  selector: (labels: Record<string, string> | undefined) => boolean;
  res: ServerResponse;
}

class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details: Obj = {},
  ) {
    super(message);
  }
}

const MICRO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}(Z|[+-]\d\d:\d\d)$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

const BUILTINS: Omit<ResourceType, 'verbs'>[] = [
  { group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace', namespaced: false, status: true, generation: false },
  { group: '', version: 'v1', plural: 'pods', kind: 'Pod', namespaced: true, status: true, generation: false },
  { group: '', version: 'v1', plural: 'services', kind: 'Service', namespaced: true, status: true, generation: false },
  { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap', namespaced: true, status: false, generation: false },
  { group: '', version: 'v1', plural: 'secrets', kind: 'Secret', namespaced: true, status: false, generation: false },
  { group: '', version: 'v1', plural: 'events', kind: 'Event', namespaced: true, status: false, generation: false },
  { group: '', version: 'v1', plural: 'serviceaccounts', kind: 'ServiceAccount', namespaced: true, status: false, generation: false },
  { group: 'apps', version: 'v1', plural: 'deployments', kind: 'Deployment', namespaced: true, status: true, generation: true },
  { group: 'apps', version: 'v1', plural: 'statefulsets', kind: 'StatefulSet', namespaced: true, status: true, generation: true },
  { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', kind: 'Lease', namespaced: true, status: false, generation: false },
  {
    group: 'apiextensions.k8s.io',
    version: 'v1',
    plural: 'customresourcedefinitions',
    kind: 'CustomResourceDefinition',
    namespaced: false,
    status: true,
    generation: true,
  },
];

function metaTime(d = new Date()): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function apiVersionOf(t: ResourceType): string {
  return t.group ? `${t.group}/${t.version}` : t.version;
}

function typeKey(group: string, version: string, plural: string): string {
  return `${group}/${version}/${plural}`;
}

function objKey(ns: string | undefined, name: string): string {
  return `${ns ?? ''}/${name}`;
}

function clone<T>(v: T): T {
  return structuredClone(v);
}

/** Everything but metadata and status: what a generation counts changes of. */
function specPart(o: Obj): string {
  const { metadata: _m, status: _s, ...rest } = o;
  return JSON.stringify(rest);
}

function stable(o: Obj): string {
  const { resourceVersion: _rv, managedFields: _mf, ...meta } = o.metadata ?? {};
  return JSON.stringify({ ...o, metadata: meta });
}

/** RFC 7386 JSON merge patch. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return clone(patch);
  const out: Obj = typeof target === 'object' && target !== null && !Array.isArray(target) ? clone(target as Obj) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/**
 * Server-side apply, reduced to one rule per field manager: the manager's applied configuration is merged
 * over the object, and fields the manager applied last time but left out now are removed. Lists are atomic.
 * Ownership conflicts between managers are not modelled (the operator applies with force, as controllers do).
 */
function applyConfig(live: unknown, applied: unknown, previous: unknown): unknown {
  const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObj(applied)) return clone(applied);
  const out: Obj = isObj(live) ? clone(live) : {};
  if (isObj(previous)) for (const k of Object.keys(previous)) if (!(k in applied)) delete out[k];
  for (const [k, v] of Object.entries(applied)) out[k] = applyConfig(out[k], v, isObj(previous) ? previous[k] : undefined);
  return out;
}

function labelSelector(expr: string | null): Watcher['selector'] {
  if (!expr) return () => true;
  const terms = expr
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean)
    .map((t) => {
      const ne = t.match(/^([^!=]+)!=(.*)$/);
      if (ne) return (l: Record<string, string>) => l[ne[1]] !== ne[2];
      const eq = t.match(/^([^!=]+)==?(.*)$/);
      if (eq) return (l: Record<string, string>) => l[eq[1]] === eq[2];
      if (t.startsWith('!')) return (l: Record<string, string>) => !(t.slice(1) in l);
      return (l: Record<string, string>) => t in l;
    });
  return (labels) => terms.every((f) => f(labels ?? {}));
}

function fieldErrors(kind: string, name: string, errors: FieldError[]): ApiError {
  const summary = errors.map((e) => `${e.field}: ${e.message}`).join(', ');
  return new ApiError(422, 'Invalid', `${kind} "${name}" is invalid: ${summary}`, {
    name,
    kind,
    causes: errors.map((e) => ({ reason: 'FieldValueInvalid', message: e.message, field: e.field })),
  });
}

export class FakeKubeApiServer {
  readonly requests = new Map<string, number>();
  private readonly types = new Map<string, ResourceType>();
  private readonly store = new Map<string, Map<string, Obj>>();
  private readonly history = new Map<string, WatchEvent[]>();
  /** Per type: the newest resourceVersion whose event was dropped from history. */
  private readonly compacted = new Map<string, number>();
  private readonly watchers = new Map<string, Set<Watcher>>();
  /** Per object: each field manager's last applied configuration. */
  private readonly appliedBy = new Map<string, Map<string, Obj>>();
  private rv = 1;
  private readonly server: Server;
  private readonly options: Required<FakeApiServerOptions>;

  private constructor(options: FakeApiServerOptions) {
    this.options = { watchHistory: 10_000, watchTimeoutMs: 10 * 60_000, bookmarkIntervalMs: 1000, ...options };
    for (const t of BUILTINS) {
      this.register({ ...t, builtinSchema: BUILTIN_SCHEMAS[t.kind], verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] });
    }
    this.store
      .get(typeKey('', 'v1', 'namespaces'))!
      .set(objKey(undefined, 'default'), this.stamp({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } }, true));
    this.server = createServer((req, res) => void this.handle(req, res));
  }

  static async start(options: FakeApiServerOptions = {}): Promise<FakeKubeApiServer> {
    const s = new FakeKubeApiServer(options);
    await new Promise<void>((resolve) => s.server.listen(0, '127.0.0.1', resolve));
    return s;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Options for KubeConfig.loadFromOptions. */
  kubeConfigOptions() {
    return {
      clusters: [{ name: 'fake', server: this.url, skipTLSVerify: true }],
      users: [{ name: 'fake' }],
      contexts: [{ name: 'fake', cluster: 'fake', user: 'fake' }],
      currentContext: 'fake',
    };
  }

  /** Requests served, by `VERB plural[/sub]`, plus `total`. */
  stats(): Record<string, number> {
    const out = Object.fromEntries(this.requests);
    out.total = [...this.requests.values()].reduce((a, b) => a + b, 0);
    return out;
  }

  /** Drops all but the newest `keep` watch events of every type, as etcd compaction would. */
  compact(keep = 0): void {
    for (const [key, events] of this.history) {
      const dropped = events.splice(0, Math.max(0, events.length - keep));
      if (dropped.length) this.compacted.set(key, dropped[dropped.length - 1].rv);
    }
  }

  async close(): Promise<void> {
    for (const set of this.watchers.values()) for (const w of set) w.res.end();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private register(t: ResourceType): void {
    const key = typeKey(t.group, t.version, t.plural);
    this.types.set(key, t);
    if (!this.store.has(key)) this.store.set(key, new Map());
    if (!this.history.has(key)) this.history.set(key, []);
    if (!this.watchers.has(key)) this.watchers.set(key, new Set());
  }

  private count(label: string): void {
    this.requests.set(label, (this.requests.get(label) ?? 0) + 1);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const url = new URL(req.url ?? '/', 'http://fake');
      const body = req.method === 'GET' || req.method === 'HEAD' ? '' : await readBody(req);
      const result = this.route(req.method ?? 'GET', url, req.headers['content-type'] ?? '', body, res);
      if (result !== undefined) send(res, result.code, result.body);
    } catch (e) {
      const err = e instanceof ApiError ? e : new ApiError(500, 'InternalError', String((e as Error)?.stack ?? e));
      send(res, err.code, {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: err.message,
        reason: err.reason,
        details: err.details,
        code: err.code,
      });
    }
  }

  private route(method: string, url: URL, contentType: string, body: string, res: ServerResponse): { code: number; body: unknown } | undefined {
    const parts = url.pathname.split('/').filter(Boolean);
    let group: string;
    let version: string;
    let rest: string[];
    if (parts[0] === 'api') {
      if (parts.length === 1) return { code: 200, body: { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] } };
      [group, version, rest] = ['', parts[1], parts.slice(2)];
    } else if (parts[0] === 'apis') {
      if (parts.length === 1) return { code: 200, body: this.groupList() };
      if (parts.length === 2) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
      [group, version, rest] = [parts[1], parts[2], parts.slice(3)];
    } else {
      throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    }
    if (rest.length === 0) {
      if (method !== 'GET') throw new ApiError(405, 'MethodNotAllowed', 'method not allowed');
      return { code: 200, body: this.resourceList(group, version) };
    }
    let namespace: string | undefined;
    if (rest[0] === 'namespaces' && rest.length >= 3) {
      namespace = rest[1];
      rest = rest.slice(2);
    }
    const [plural, name, sub] = rest;
    const type = this.types.get(typeKey(group, version, plural));
    if (!type) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    if (sub && !(sub === 'status' && type.status)) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    if (type.namespaced && name !== undefined && namespace === undefined)
      throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    if (!type.namespaced) namespace = undefined;
    const watch = url.searchParams.get('watch');
    const verb = method === 'GET' ? (name ? 'get' : watch === 'true' || watch === '1' ? 'watch' : 'list') : method.toLowerCase();
    this.count(`${verb} ${plural}${sub ? '/' + sub : ''}`);

    if (verb === 'watch') {
      this.watch(type, namespace, url.searchParams, res);
      return undefined;
    }
    if (verb === 'list') return { code: 200, body: this.list(type, namespace, url.searchParams.get('labelSelector')) };
    if (verb === 'get') return { code: 200, body: this.get(type, namespace, name!) };
    const parsed = body ? parseJson(body) : undefined;
    switch (method) {
      case 'POST':
        if (name) throw new ApiError(405, 'MethodNotAllowed', 'POST to a named resource');
        return { code: 201, body: this.create(type, namespace, parsed, url.searchParams) };
      case 'PUT':
        return { code: 200, body: this.update(type, namespace, name!, parsed, Boolean(sub)) };
      case 'PATCH':
        return this.patch(type, namespace, name!, contentType.split(';')[0].trim(), parsed, Boolean(sub), url.searchParams);
      case 'DELETE':
        return { code: 200, body: this.delete(type, namespace, name!, parsed, url.searchParams) };
      default:
        throw new ApiError(405, 'MethodNotAllowed', `method ${method} not allowed`);
    }
  }

  private groupList() {
    const groups = new Map<string, Set<string>>();
    for (const t of this.types.values()) if (t.group) (groups.get(t.group) ?? groups.set(t.group, new Set()).get(t.group)!).add(t.version);
    return {
      kind: 'APIGroupList',
      apiVersion: 'v1',
      groups: [...groups].map(([name, versions]) => ({
        name,
        versions: [...versions].map((v) => ({ groupVersion: `${name}/${v}`, version: v })),
        preferredVersion: { groupVersion: `${name}/${[...versions][0]}`, version: [...versions][0] },
      })),
    };
  }

  private resourceList(group: string, version: string) {
    const resources = [...this.types.values()].filter((t) => t.group === group && t.version === version);
    if (!resources.length) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    return {
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: group ? `${group}/${version}` : version,
      resources: resources.flatMap((t) => [
        { name: t.plural, singularName: t.kind.toLowerCase(), namespaced: t.namespaced, kind: t.kind, verbs: t.verbs },
        ...(t.status ? [{ name: `${t.plural}/status`, singularName: '', namespaced: t.namespaced, kind: t.kind, verbs: ['get', 'patch', 'update'] }] : []),
      ]),
    };
  }

  private objects(type: ResourceType): Map<string, Obj> {
    return this.store.get(typeKey(type.group, type.version, type.plural))!;
  }

  private list(type: ResourceType, namespace: string | undefined, selector: string | null) {
    const match = labelSelector(selector);
    const items = [...this.objects(type).values()].filter((o) => (namespace === undefined || o.metadata.namespace === namespace) && match(o.metadata.labels));
    return { apiVersion: apiVersionOf(type), kind: `${type.kind}List`, metadata: { resourceVersion: String(this.rv) }, items: clone(items) };
  }

  private get(type: ResourceType, namespace: string | undefined, name: string): Obj {
    const o = this.objects(type).get(objKey(namespace, name));
    if (!o) throw this.notFound(type, name);
    return clone(o);
  }

  private notFound(type: ResourceType, name: string): ApiError {
    const resource = type.group ? `${type.plural}.${type.group}` : type.plural;
    return new ApiError(404, 'NotFound', `${resource} "${name}" not found`, { name, group: type.group, kind: type.plural });
  }

  /** uid, timestamps, resourceVersion and generation: what the server owns in metadata. */
  private stamp(o: Obj, creating: boolean, generation?: number): Obj {
    this.rv += 1;
    o.metadata.resourceVersion = String(this.rv);
    if (creating) {
      o.metadata.uid = randomUUID();
      o.metadata.creationTimestamp = metaTime();
    }
    if (generation !== undefined) o.metadata.generation = generation;
    return o;
  }

  /** Admission: the checks every create and update of this type goes through. */
  private admit(type: ResourceType, o: Obj): void {
    const name = o.metadata?.name ?? '';
    if (type.crdSchema) {
      // metadata, apiVersion and kind are the server's, whatever the schema says about them.
      const { metadata, apiVersion, kind, ...content } = o;
      const errors = admit(type.crdSchema, content);
      for (const k of Object.keys(o)) if (!['metadata', 'apiVersion', 'kind'].includes(k)) delete o[k];
      Object.assign(o, { apiVersion, kind, metadata }, content);
      if (errors.length) throw fieldErrors(`${type.kind}.${type.group}`, name, errors);
    } else if (type.builtinSchema) {
      const errors = validate(type.builtinSchema, o);
      if (errors.length) throw fieldErrors(type.kind, name, errors);
    }
    if (type.kind === 'Lease') {
      // MicroTime: the server parses exactly six fractional digits; toISOString()'s three are a 400.
      for (const field of ['acquireTime', 'renewTime']) {
        const v = o.spec?.[field];
        if (v !== undefined && v !== null && !(typeof v === 'string' && MICRO_TIME.test(v))) {
          throw new ApiError(
            400,
            'BadRequest',
            `Lease in version "v1" cannot be handled as a Lease: parsing time ${JSON.stringify(v)} as "2006-01-02T15:04:05.000000Z07:00": cannot parse as RFC3339Micro (spec.${field})`,
          );
        }
      }
    }
  }

  private create(type: ResourceType, namespace: string | undefined, body: Obj | undefined, params: URLSearchParams, fromApply?: string): Obj {
    if (!body || typeof body !== 'object') throw new ApiError(400, 'BadRequest', 'the body of the request was in an unknown format');
    if (body.kind !== type.kind || body.apiVersion !== apiVersionOf(type)) {
      throw new ApiError(
        400,
        'BadRequest',
        `the API version in the data (${body.apiVersion}) does not match the expected API version (${apiVersionOf(type)}) or kind ${body.kind} is not ${type.kind}`,
      );
    }
    const o = clone(body);
    o.metadata = { ...(o.metadata ?? {}) };
    if (!o.metadata.name && o.metadata.generateName) o.metadata.name = `${o.metadata.generateName}${randomUUID().slice(0, 5)}`;
    const name: string = o.metadata.name ?? '';
    if (!name) throw fieldErrors(type.kind, '', [{ field: 'metadata.name', message: 'Required value: name or generateName is required' }]);
    if (!DNS_SUBDOMAIN.test(name) || name.length > 253) {
      throw fieldErrors(type.kind, name, [
        {
          field: 'metadata.name',
          message: `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'`,
        },
      ]);
    }
    if (type.namespaced) {
      if (o.metadata.namespace && o.metadata.namespace !== namespace)
        throw new ApiError(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request');
      if (!this.store.get(typeKey('', 'v1', 'namespaces'))!.has(objKey(undefined, namespace!)))
        throw new ApiError(404, 'NotFound', `namespaces "${namespace}" not found`, { name: namespace, kind: 'namespaces' });
      o.metadata.namespace = namespace;
    } else {
      delete o.metadata.namespace;
    }
    for (const k of ['uid', 'resourceVersion', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'creationTimestamp', 'generation', 'managedFields'])
      delete o.metadata[k];
    if (type.status) delete o.status;
    if (this.objects(type).has(objKey(namespace, name))) {
      const resource = type.group ? `${type.plural}.${type.group}` : type.plural;
      throw new ApiError(409, 'AlreadyExists', `${resource} "${name}" already exists`, { name, group: type.group, kind: type.plural });
    }
    this.admit(type, o);
    if (type.kind === 'CustomResourceDefinition') this.installCrd(o);
    if (params.get('dryRun') === 'All') return o;
    this.stamp(o, true, type.generation ? 1 : undefined);
    if (fromApply) this.appliedBy.set(o.metadata.uid, new Map([[fromApply, clone(body)]]));
    this.objects(type).set(objKey(namespace, name), o);
    this.emit(type, 'ADDED', o);
    return clone(o);
  }

  private installCrd(crd: Obj): void {
    const spec = crd.spec;
    if (crd.metadata.name !== `${spec.names.plural}.${spec.group}`) {
      throw fieldErrors('CustomResourceDefinition', crd.metadata.name, [{ field: 'metadata.name', message: `must be spec.names.plural+"."+spec.group` }]);
    }
    for (const v of spec.versions.filter((x: Obj) => x.served)) {
      this.register({
        group: spec.group,
        version: v.name,
        plural: spec.names.plural,
        kind: spec.names.kind,
        namespaced: spec.scope === 'Namespaced',
        status: Boolean(v.subresources?.status),
        generation: true,
        crdSchema: v.schema.openAPIV3Schema,
        verbs: ['delete', 'deletecollection', 'get', 'list', 'patch', 'create', 'update', 'watch'],
      });
    }
    crd.status = {
      conditions: [
        { type: 'NamesAccepted', status: 'True', reason: 'NoConflicts', message: 'no conflicts found', lastTransitionTime: metaTime() },
        {
          type: 'Established',
          status: 'True',
          reason: 'InitialNamesAccepted',
          message: 'the initial names have been accepted',
          lastTransitionTime: metaTime(),
        },
      ],
      acceptedNames: spec.names,
      storedVersions: spec.versions.filter((x: Obj) => x.storage).map((x: Obj) => x.name),
    };
  }

  private update(type: ResourceType, namespace: string | undefined, name: string, body: Obj | undefined, status: boolean): Obj {
    if (!body || typeof body !== 'object') throw new ApiError(400, 'BadRequest', 'the body of the request was in an unknown format');
    const old = this.objects(type).get(objKey(namespace, name));
    if (!old) throw this.notFound(type, name);
    if (body.metadata?.name !== undefined && body.metadata.name !== name)
      throw new ApiError(400, 'BadRequest', 'the name of the object does not match the name on the URL');
    const rv = body.metadata?.resourceVersion;
    if (rv === undefined || rv === '') {
      if (type.crdSchema || type.kind === 'Lease')
        throw fieldErrors(type.kind, name, [{ field: 'metadata.resourceVersion', message: 'Invalid value: 0x0: must be specified for an update' }]);
    } else if (rv !== old.metadata.resourceVersion) {
      throw this.conflict(type, name);
    }
    if (body.metadata?.uid && body.metadata.uid !== old.metadata.uid)
      throw this.conflict(type, name, 'Precondition failed: UID in precondition does not match the UID in record');
    return this.commit(type, old, body, status);
  }

  private conflict(
    type: ResourceType,
    name: string,
    why = 'the object has been modified; please apply your changes to the latest version and try again',
  ): ApiError {
    const resource = type.group ? `${type.plural}.${type.group}` : type.plural;
    return new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${resource} "${name}": ${why}`, { name, group: type.group, kind: type.plural });
  }

  /** Writes `next` over `old` with the subresource and finalizer rules; the single path of every update. */
  private commit(type: ResourceType, old: Obj, next: Obj, statusOnly: boolean): Obj {
    let o: Obj;
    if (statusOnly) {
      o = { ...clone(old), status: clone(next.status) };
    } else {
      o = clone(next);
      o.apiVersion = old.apiVersion;
      o.kind = old.kind;
      o.metadata = { ...(next.metadata ?? {}) };
      for (const k of ['name', 'namespace', 'uid', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'generation']) {
        if (old.metadata[k] === undefined) delete o.metadata[k];
        else o.metadata[k] = old.metadata[k];
      }
      if (type.status) {
        if (old.status === undefined) delete o.status;
        else o.status = clone(old.status);
      }
      if (old.metadata.deletionTimestamp) {
        const had = new Set<string>(old.metadata.finalizers ?? []);
        const added = (o.metadata.finalizers ?? []).filter((f: string) => !had.has(f));
        if (added.length)
          throw fieldErrors(type.kind, old.metadata.name, [
            {
              field: 'metadata.finalizers',
              message: `Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers ${JSON.stringify(added)}`,
            },
          ]);
      }
    }
    this.admit(type, o);
    if (type.kind === 'Lease') delete o.status;
    if (stable(o) === stable(old)) return clone(old);
    const generation = type.generation ? (old.metadata.generation ?? 1) + (specPart(o) !== specPart(old) ? 1 : 0) : undefined;
    this.stamp(o, false, generation);
    const key = objKey(o.metadata.namespace, o.metadata.name);
    if (o.metadata.deletionTimestamp && !(o.metadata.finalizers ?? []).length) {
      this.remove(type, key, o);
      return clone(o);
    }
    this.objects(type).set(key, o);
    this.emit(type, 'MODIFIED', o);
    return clone(o);
  }

  private patch(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    contentType: string,
    body: Obj | undefined,
    status: boolean,
    params: URLSearchParams,
  ): { code: number; body: unknown } {
    if (contentType === 'application/apply-patch+yaml') {
      const manager = params.get('fieldManager');
      if (!manager) throw new ApiError(400, 'BadRequest', 'PATCH /apply requires fieldManager to be set');
      if (!body || body.kind !== type.kind || body.apiVersion !== apiVersionOf(type) || body.metadata?.name !== name) {
        throw new ApiError(400, 'BadRequest', 'apply patches must name the object: apiVersion, kind and metadata.name matching the URL');
      }
      const old = this.objects(type).get(objKey(namespace, name));
      if (!old) {
        if (status) throw this.notFound(type, name);
        return { code: 201, body: this.create(type, namespace, body, params, manager) };
      }
      if (body.metadata.resourceVersion && body.metadata.resourceVersion !== old.metadata.resourceVersion) throw this.conflict(type, name);
      const applied = this.appliedBy.get(old.metadata.uid) ?? new Map<string, Obj>();
      const scope = (o: Obj | undefined) => (o && status ? { status: o.status } : o);
      const merged = applyConfig(old, scope(body), scope(applied.get(manager))) as Obj;
      merged.metadata.resourceVersion = old.metadata.resourceVersion;
      const out = this.commit(type, old, merged, status);
      applied.set(manager, clone(body));
      this.appliedBy.set(old.metadata.uid, applied);
      return { code: 200, body: out };
    }
    if (contentType !== 'application/merge-patch+json') {
      // Strategic merge needs the Go structs' patch metadata; custom resources reject it on a real server too.
      throw new ApiError(
        415,
        'UnsupportedMediaType',
        `the body of the request was in an unknown format - accepted media types include: application/merge-patch+json, application/apply-patch+yaml (got ${contentType})`,
      );
    }
    const old = this.objects(type).get(objKey(namespace, name));
    if (!old) throw this.notFound(type, name);
    if (body?.metadata?.resourceVersion && body.metadata.resourceVersion !== old.metadata.resourceVersion) throw this.conflict(type, name);
    const merged = mergePatch(old, body) as Obj;
    merged.metadata.resourceVersion = old.metadata.resourceVersion;
    return { code: 200, body: this.commit(type, old, merged, status) };
  }

  private delete(type: ResourceType, namespace: string | undefined, name: string, body: Obj | undefined, params: URLSearchParams): Obj {
    const key = objKey(namespace, name);
    const old = this.objects(type).get(key);
    if (!old) throw this.notFound(type, name);
    const pre = body?.preconditions ?? {};
    if (pre.uid && pre.uid !== old.metadata.uid) throw this.conflict(type, name, 'Precondition failed: UID in precondition does not match the UID in record');
    if (pre.resourceVersion && pre.resourceVersion !== old.metadata.resourceVersion) throw this.conflict(type, name);
    const policy = body?.propagationPolicy ?? params.get('propagationPolicy') ?? 'Background';
    if (policy === 'Foreground') throw new ApiError(400, 'BadRequest', 'the fake API server implements Background and Orphan propagation only');
    if (old.metadata.finalizers?.length) {
      if (old.metadata.deletionTimestamp) return clone(old);
      const o = clone(old);
      o.metadata.deletionTimestamp = metaTime();
      o.metadata.deletionGracePeriodSeconds = 0;
      this.stamp(o, false);
      this.objects(type).set(key, o);
      this.emit(type, 'MODIFIED', o);
      return clone(o);
    }
    this.remove(type, key, clone(old), policy === 'Orphan');
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Success',
      details: { name, group: type.group, kind: type.plural, uid: old.metadata.uid },
    };
  }

  /** Removes the object for good and, unless orphaning, deletes its dependents (the garbage collector's job). */
  private remove(type: ResourceType, key: string, o: Obj, orphan = false): void {
    this.objects(type).delete(key);
    this.appliedBy.delete(o.metadata.uid);
    this.rv += 1;
    o.metadata.resourceVersion = String(this.rv);
    this.emit(type, 'DELETED', o);
    if (orphan) return;
    const uid = o.metadata.uid;
    for (const t of this.types.values()) {
      for (const dep of [...this.objects(t).values()]) {
        if (dep.metadata.ownerReferences?.some((r: Obj) => r.uid === uid)) {
          try {
            this.delete(t, dep.metadata.namespace, dep.metadata.name, undefined, new URLSearchParams());
          } catch (e) {
            if (!(e instanceof ApiError && e.code === 404)) throw e;
          }
        }
      }
    }
  }

  private emit(type: ResourceType, kind: WatchEvent['type'], o: Obj): void {
    const key = typeKey(type.group, type.version, type.plural);
    const events = this.history.get(key)!;
    events.push({ rv: Number(o.metadata.resourceVersion), type: kind, object: clone(o) });
    if (events.length > this.options.watchHistory) {
      const dropped = events.splice(0, events.length - this.options.watchHistory);
      this.compacted.set(key, dropped[dropped.length - 1].rv);
    }
    const line = JSON.stringify({ type: kind, object: o }) + '\n';
    for (const w of this.watchers.get(key)!) {
      if ((w.namespace === undefined || w.namespace === o.metadata.namespace) && w.selector(o.metadata.labels)) w.res.write(line);
    }
  }

  private watch(type: ResourceType, namespace: string | undefined, params: URLSearchParams, res: ServerResponse): void {
    const key = typeKey(type.group, type.version, type.plural);
    const selector = labelSelector(params.get('labelSelector'));
    const from = params.get('resourceVersion');
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    const matches = (o: Obj) => (namespace === undefined || o.metadata.namespace === namespace) && selector(o.metadata.labels);
    if (!from || from === '0') {
      // No resourceVersion: the current state as synthetic ADDED events, then changes.
      for (const o of this.objects(type).values()) if (matches(o)) res.write(JSON.stringify({ type: 'ADDED', object: o }) + '\n');
    } else {
      const since = Number(from);
      if (!Number.isInteger(since) || since < (this.compacted.get(key) ?? 0)) {
        res.end(
          JSON.stringify({
            type: 'ERROR',
            object: {
              kind: 'Status',
              apiVersion: 'v1',
              metadata: {},
              status: 'Failure',
              message: `too old resource version: ${from} (${this.compacted.get(key)})`,
              reason: 'Expired',
              code: 410,
            },
          }) + '\n',
        );
        return;
      }
      for (const e of this.history.get(key)!) if (e.rv > since && matches(e.object)) res.write(JSON.stringify({ type: e.type, object: e.object }) + '\n');
    }
    const watcher: Watcher = { namespace, selector, res };
    this.watchers.get(key)!.add(watcher);
    const timers: NodeJS.Timeout[] = [];
    const timeoutSeconds = Number(params.get('timeoutSeconds'));
    timers.push(setTimeout(() => res.end(), timeoutSeconds > 0 ? timeoutSeconds * 1000 : this.options.watchTimeoutMs));
    if (params.get('allowWatchBookmarks') === 'true') {
      timers.push(
        setInterval(() => {
          res.write(
            JSON.stringify({ type: 'BOOKMARK', object: { kind: type.kind, apiVersion: apiVersionOf(type), metadata: { resourceVersion: String(this.rv) } } }) +
              '\n',
          );
        }, this.options.bookmarkIntervalMs),
      );
    }
    const stop = () => {
      for (const t of timers) clearTimeout(t);
      this.watchers.get(key)!.delete(watcher);
    };
    res.on('close', stop);
    res.on('finish', stop);
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseJson(text: string): Obj {
  try {
    return JSON.parse(text) as Obj;
  } catch {
    throw new ApiError(400, 'BadRequest', 'the body of the request was in an unknown format (the fake accepts JSON only)');
  }
}

function send(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}
