import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';

import { loadAll } from 'js-yaml';

import { applyDefaults, BUILTIN_SCHEMAS, validate, type Schema } from '../support/fake-kube-apiserver';

/**
 * Every YAML document under k8s/ validated against a schema, strictly (unknown fields fail):
 * custom resources against our CRDs' openAPIV3Schema (after defaulting, as the API server would),
 * built-in kinds against the committed schema subset (test/support/fake-kube-apiserver/builtin-schemas.ts:
 * the fields Archipelago uses, not all of Kubernetes), kustomizations against a small schema of the fields
 * used here, plus the cross-references a schema cannot see (files, service accounts, roles, Secrets).
 */
const ROOT = join(__dirname, '..', '..', '..');
const K8S = join(ROOT, 'k8s');

type Doc = Record<string, any> & { __file: string };

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? yamlFiles(p) : p.endsWith('.yaml') ? [p] : [];
  });
}

const docs: Doc[] = yamlFiles(K8S).flatMap((file) =>
  (loadAll(readFileSync(file, 'utf8')) as Record<string, any>[]).filter(Boolean).map((d) => ({ ...d, __file: relative(ROOT, file) })),
);
const withoutFile = ({ __file: _f, ...d }: Doc) => d;

const str: Schema = { type: 'string' };
const KUSTOMIZATION: Schema = {
  type: 'object',
  required: ['apiVersion', 'kind'],
  properties: {
    apiVersion: { type: 'string', enum: ['kustomize.config.k8s.io/v1beta1'] },
    kind: { type: 'string', enum: ['Kustomization'] },
    resources: { type: 'array', items: str },
    images: { type: 'array', items: { type: 'object', required: ['name'], properties: { name: str, newName: str, newTag: str } } },
    replicas: { type: 'array', items: { type: 'object', required: ['name', 'count'], properties: { name: str, count: { type: 'integer', minimum: 0 } } } },
    secretGenerator: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name'],
        properties: {
          name: str,
          namespace: str,
          literals: { type: 'array', items: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*=' } },
          options: { type: 'object', properties: { disableNameSuffixHash: { type: 'boolean' } } },
        },
      },
    },
    patches: {
      type: 'array',
      items: { type: 'object', required: ['patch', 'target'], properties: { patch: str, target: { type: 'object', properties: { kind: str, name: str } } } },
    },
  },
};

const crdSchemas = new Map<string, Schema>(
  docs
    .filter((d) => d.kind === 'CustomResourceDefinition')
    .map((d) => [`${d.spec.group}/${d.spec.versions[0].name}/${d.spec.names.kind}`, d.spec.versions[0].schema.openAPIV3Schema]),
);

/** Structural schemas: every node says its type (or explicitly preserves unknown fields / is int-or-string). */
function structuralErrors(s: Schema, path: string): string[] {
  const own = s.type || s['x-kubernetes-int-or-string'] || s['x-kubernetes-preserve-unknown-fields'] ? [] : [`${path}: no type`];
  const children = [
    ...Object.entries(s.properties ?? {}).flatMap(([k, v]) => structuralErrors(v, `${path}.${k}`)),
    ...(s.items ? structuralErrors(s.items, `${path}[]`) : []),
    ...(typeof s.additionalProperties === 'object' ? structuralErrors(s.additionalProperties, `${path}{}`) : []),
  ];
  return [...own, ...children];
}

describe('k8s manifests', () => {
  it('cover every kind the deployment needs', () => {
    const kinds = new Set(docs.map((d) => d.kind));
    for (const k of [
      'CustomResourceDefinition',
      'Namespace',
      'ConfigMap',
      'ServiceAccount',
      'Role',
      'RoleBinding',
      'Deployment',
      'Service',
      'Secret',
      'Kustomization',
      'Island',
      'NodeSet',
    ]) {
      assert.ok(kinds.has(k), `no ${k} under k8s/`);
    }
  });

  it('are each valid against their schema, unknown fields included', () => {
    let checked = 0;
    for (const doc of docs) {
      const body = withoutFile(doc);
      let schema: Schema | undefined;
      if (doc.kind === 'Kustomization') schema = KUSTOMIZATION;
      else if (crdSchemas.has(`${doc.apiVersion}/${doc.kind}`)) {
        schema = crdSchemas.get(`${doc.apiVersion}/${doc.kind}`);
        const { metadata, ...content } = body;
        applyDefaults(schema!, content);
        assert.ok(metadata?.name, `${doc.__file}: ${doc.kind} without a name`);
        assert.deepEqual(
          validate(
            { ...schema!, properties: { ...schema!.properties, metadata: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } },
            { metadata, ...content },
            '',
            { strict: true },
          ),
          [],
          doc.__file,
        );
        checked++;
        continue;
      } else schema = BUILTIN_SCHEMAS[doc.kind];
      assert.ok(schema, `${doc.__file}: no schema for ${doc.apiVersion} ${doc.kind}`);
      assert.deepEqual(validate(schema, body, '', { strict: true }), [], `${doc.__file}: ${doc.kind}/${doc.metadata?.name}`);
      checked++;
    }
    assert.equal(checked, docs.length);
  });

  it('define structural CRD schemas with the conventions the operators rely on', () => {
    for (const crd of docs.filter((d) => d.kind === 'CustomResourceDefinition')) {
      const v = crd.spec.versions[0];
      assert.deepEqual(structuralErrors(v.schema.openAPIV3Schema, ''), [], crd.__file);
      assert.deepEqual(v.subresources, { status: {} }, `${crd.__file}: status subresource`);
      const status = v.schema.openAPIV3Schema.properties.status.properties;
      for (const f of ['phase', 'observedGeneration', 'conditions']) assert.ok(status[f], `${crd.__file}: status.${f}`);
      assert.deepEqual(status.conditions['x-kubernetes-list-map-keys'], ['type']);
      assert.ok(
        v.additionalPrinterColumns.some((c: any) => c.jsonPath === '.status.phase'),
        `${crd.__file}: Phase column`,
      );
    }
  });

  it('reject what the CRDs forbid (the schema is not vacuous)', () => {
    const island = crdSchemas.get('archipelago.dev/v1alpha1/Island')!;
    const bad = {
      apiVersion: 'archipelago.dev/v1alpha1',
      kind: 'Island',
      metadata: {},
      spec: { slurm: { image: '' }, partitions: [{ name: 'a b' }], restApi: { replicas: 11 } },
    };
    const fields = validate(island, bad)
      .map((e) => e.field)
      .sort();
    assert.deepEqual(fields, ['spec.partitions[0].name', 'spec.restApi.replicas', 'spec.slurm.image']);
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'x' },
      spec: { replica: 1, selector: {}, template: { spec: { containers: [{ name: 'c', image: 'i' }] } } },
    };
    assert.deepEqual(
      validate(BUILTIN_SCHEMAS.Deployment, deployment, '', { strict: true }).map((e) => e.field),
      ['spec.replica'],
    );
  });

  it('reference files, service accounts, roles and Secrets that exist', () => {
    for (const k of docs.filter((d) => d.kind === 'Kustomization')) {
      for (const r of k.resources ?? []) assert.ok(existsSync(resolve(dirname(join(ROOT, k.__file)), r)), `${k.__file}: resource ${r} missing`);
    }
    const named = (kind: string, ns?: string) =>
      new Set(docs.filter((d) => d.kind === kind && (!ns || d.metadata.namespace === ns)).map((d) => d.metadata.name));
    for (const dep of docs.filter((d) => d.kind === 'Deployment')) {
      const spec = dep.spec.template.spec;
      assert.ok(named('ServiceAccount', dep.metadata.namespace).has(spec.serviceAccountName), `${dep.metadata.name}: service account`);
      const secretNames = [
        ...spec.containers.flatMap((c: any) => (c.env ?? []).map((e: any) => e.valueFrom?.secretKeyRef?.name)),
        ...(spec.volumes ?? []).filter((v: any) => v.secret && !v.secret.optional).map((v: any) => v.secret.secretName),
      ].filter(Boolean);
      // Required Secrets come from the template (prod) and the dev overlay's generator.
      const dev = docs.find((d) => d.__file === join('k8s', 'overlays', 'dev', 'kustomization.yaml'))!;
      for (const s of secretNames) {
        assert.ok(named('Secret', dep.metadata.namespace).has(s), `${dep.metadata.name}: Secret ${s} has no template`);
        assert.ok(
          dev.secretGenerator.some((g: any) => g.name === s),
          `${dep.metadata.name}: Secret ${s} not generated for dev`,
        );
      }
    }
    for (const rb of docs.filter((d) => d.kind === 'RoleBinding')) {
      assert.ok(named('Role', rb.metadata.namespace).has(rb.roleRef.name), `${rb.metadata.name}: role`);
      for (const s of rb.subjects) assert.ok(named('ServiceAccount', s.namespace).has(s.name), `${rb.metadata.name}: subject ${s.name}`);
    }
  });

  it('give the API no Kubernetes access and the operator no way to read Secrets', () => {
    const api = docs.find((d) => d.kind === 'Deployment' && d.metadata.name === 'archipelago-api')!;
    assert.equal(api.spec.template.spec.automountServiceAccountToken, false);
    assert.ok(!docs.some((d) => d.kind === 'RoleBinding' && d.subjects.some((s: any) => s.name === 'archipelago-api')));
    const operatorRole = docs.find((d) => d.kind === 'Role' && d.metadata.name === 'archipelago-operator')!;
    const secretVerbs = operatorRole.rules.filter((r: any) => r.resources.includes('secrets')).flatMap((r: any) => r.verbs);
    assert.deepEqual(secretVerbs, ['create']);
    assert.ok(!docs.some((d) => d.kind === 'ClusterRole' || d.kind === 'ClusterRoleBinding'), 'namespaced roles only');
  });
});
