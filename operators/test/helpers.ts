import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { KubeConfig } from '@kubernetes/client-node';
import { load } from 'js-yaml';

import { admit, type Schema } from '../../test/support/fake-kube-apiserver/index.js';
import { API_VERSION, type Island, type NodeSet } from '../../contracts/kubernetes/v1alpha1.js';

/** The repository root, from operators/dist/operators/test/ or operators/test/. */
export const ROOT = fileURLToPath(new URL(import.meta.url.includes('/dist/') ? '../../../../' : '../../', import.meta.url));

export function crdText(plural: 'islands' | 'nodesets'): string {
  return readFileSync(`${ROOT}k8s/crds/${plural}.archipelago.dev.yaml`, 'utf8');
}

export function crd(plural: 'islands' | 'nodesets'): Record<string, any> {
  // js-yaml, not client-node's loadYaml: that one maps into model classes and renames `default` to `_default`.
  return load(crdText(plural)) as Record<string, any>;
}

export function crdSchema(plural: 'islands' | 'nodesets'): Schema {
  return crd(plural).spec.versions[0].schema.openAPIV3Schema as Schema;
}

/** A custom resource as the API server stores it: pruned and defaulted by its CRD, with server metadata. */
export function stored<T extends Island | NodeSet>(plural: 'islands' | 'nodesets', body: Record<string, any>): T {
  const { metadata, ...content } = JSON.parse(JSON.stringify(body)) as Record<string, any>;
  const errors = admit(crdSchema(plural), content);
  if (errors.length) throw new Error(JSON.stringify(errors));
  return { ...content, metadata: { namespace: 'default', uid: `uid-${metadata.name}`, generation: 1, resourceVersion: '1', ...metadata } } as T;
}

export function island(name = 'tight-1', spec: Record<string, unknown> = {}): Island {
  return stored('islands', {
    apiVersion: API_VERSION,
    kind: 'Island',
    metadata: { name },
    spec: {
      slurm: { image: 'registry.example/archipelago/slurm' },
      tier: 'tight',
      boundMs: 2,
      partitions: [{ name: 'batch' }, { name: 'gpu', default: true, maxTimeMinutes: 60 }],
      ...spec,
    },
  });
}

export function nodeSet(name = 'prov-a', spec: Record<string, unknown> = {}): NodeSet {
  return stored('nodesets', {
    apiVersion: API_VERSION,
    kind: 'NodeSet',
    metadata: { name },
    spec: {
      islandRef: { name: 'tight-1' },
      replicas: 3,
      cpus: 32,
      memoryMb: 128000,
      gpus: { count: 2, type: 'a100' },
      features: ['eu-west', 'avx512'],
      ...spec,
    },
  });
}

export function kubeConfigFor(options: object): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions(options);
  return kc;
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
