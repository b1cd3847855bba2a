import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { loadAll } from 'js-yaml';
import * as ts from 'typescript';

import * as contract from '../../contracts/kubernetes/v1alpha1';
import { islandResource, nodeSetResource } from '../../src/adapters/kube/kubernetes-island-resources';
import { validate, type Schema } from '../support/fake-kube-apiserver';

/**
 * The Kubernetes contract (contracts/kubernetes) against the CRDs in k8s/crds, which are the source of truth:
 * its names, its types (read by the TypeScript compiler, field by field, both ways) and the resources the
 * island launcher builds with it. The operators compile against the same types, so none of the three can drift.
 */
const ROOT = join(__dirname, '..', '..', '..');
const CONTRACT = join(ROOT, 'contracts', 'kubernetes', 'v1alpha1.ts');
const CRD_DIR = join(ROOT, 'k8s', 'crds');

const crds = readdirSync(CRD_DIR)
  .flatMap((f) => loadAll(readFileSync(join(CRD_DIR, f), 'utf8')) as Record<string, any>[])
  .filter((d) => d?.kind === 'CustomResourceDefinition');
function crdOf(kind: contract.Kind): Record<string, any> {
  const found = crds.find((c) => c.spec.names.kind === kind);
  assert.ok(found, `no CRD for ${kind} in k8s/crds`);
  return found;
}
const schemaOf = (kind: contract.Kind): Schema => crdOf(kind).spec.versions[0].schema.openAPIV3Schema;
const KINDS: contract.Kind[] = ['Island', 'NodeSet'];

// ---------------------------------------------------------------- the types, through the compiler

const program = ts.createProgram([CONTRACT], { strict: true, noEmit: true, target: ts.ScriptTarget.ES2022, lib: ['lib.es5.d.ts'], types: [] });
const checker = program.getTypeChecker();
const source = program.getSourceFile(CONTRACT)!;
const exported = checker.getExportsOfModule(checker.getSymbolAtLocation(source)!);

function contractType(name: string): ts.Type {
  const symbol = exported.find((s) => s.name === name);
  assert.ok(symbol, `contracts/kubernetes exports no ${name}`);
  return checker.getDeclaredTypeOfSymbol(symbol);
}

/**
 * How optionality must match: `apply` is what a writer sends (optional = not required by the CRD); `stored` is
 * what the server returns (optional = neither required nor defaulted); `status` is what the operator writes
 * (it may always write a field the CRD leaves optional, but never omit one the CRD requires).
 */
type Form = 'apply' | 'stored' | 'status';

const every = (t: ts.Type, flag: ts.TypeFlags) => (t.isUnion() ? t.types : [t]).every((u) => (u.flags & flag) !== 0);
const stringIndex = (t: ts.Type) => checker.getIndexInfosOfType(t).find((i) => i.keyType.flags & ts.TypeFlags.String);

/** Where a CRD schema node and a contract type disagree, one line each (empty when they agree). */
function drift(schema: Schema, declared: ts.Type, path: string, form: Form): string[] {
  const t = checker.getNonNullableType(declared);
  const shown = checker.typeToString(t);
  if (schema['x-kubernetes-preserve-unknown-fields'] && !schema.properties) {
    return stringIndex(t)?.type.flags === ts.TypeFlags.Unknown ? [] : [`${path}: the CRD keeps any fields, the contract says ${shown}`];
  }
  switch (schema.type) {
    case 'string': {
      if (!every(t, ts.TypeFlags.StringLike)) return [`${path}: string in the CRD, ${shown} in the contract`];
      if (!schema.enum) return []; // a literal union may be narrower than a free string (condition types)
      const literals = t.isUnion() ? t.types : [t];
      const values = literals.map((l) => (l.isStringLiteral() ? l.value : '<string>')).sort();
      return JSON.stringify(values) === JSON.stringify([...schema.enum].sort())
        ? []
        : [`${path}: enum ${JSON.stringify(schema.enum)} in the CRD, ${shown} in the contract`];
    }
    case 'integer':
    case 'number':
      return every(t, ts.TypeFlags.NumberLike) ? [] : [`${path}: ${schema.type} in the CRD, ${shown} in the contract`];
    case 'boolean':
      return every(t, ts.TypeFlags.BooleanLike) ? [] : [`${path}: boolean in the CRD, ${shown} in the contract`];
    case 'array':
      if (!checker.isArrayType(t)) return [`${path}: array in the CRD, ${shown} in the contract`];
      return drift(schema.items!, checker.getTypeArguments(t as ts.TypeReference)[0], `${path}[]`, form);
    case 'object': {
      if (typeof schema.additionalProperties === 'object') {
        const index = stringIndex(t);
        return index ? drift(schema.additionalProperties, index.type, `${path}{}`, form) : [`${path}: a map in the CRD, ${shown} in the contract`];
      }
      const crdFields = schema.properties ?? {};
      const fields = new Map(checker.getPropertiesOfType(t).map((p) => [p.name, p]));
      const out: string[] = [];
      for (const name of new Set([...Object.keys(crdFields), ...fields.keys()])) {
        const at = path ? `${path}.${name}` : name;
        const sub = crdFields[name];
        const field = fields.get(name);
        if (!sub || !field) {
          out.push(`${at}: ${sub ? 'in the CRD, not in the contract' : 'in the contract, not in the CRD'}`);
          continue;
        }
        const optional = (field.flags & ts.SymbolFlags.Optional) !== 0;
        const required = schema.required?.includes(name) ?? false;
        const present = form === 'apply' ? required : required || sub.default !== undefined;
        if (form === 'status' ? optional && required : optional === present) {
          out.push(
            `${at}: ${optional ? 'optional' : 'required'} in the contract, ${required ? 'required' : sub.default !== undefined ? 'defaulted' : 'optional'} in the CRD`,
          );
        }
        out.push(...drift(sub, checker.getTypeOfSymbol(field), at, form));
      }
      return out;
    }
    default:
      return [`${path}: no type in the CRD`];
  }
}

/** A whole resource type: apiVersion, kind, spec in its form, status as the operator writes it, and nothing else. */
function resourceDrift(kind: contract.Kind, typeName: string, form: 'apply' | 'stored'): string[] {
  const schema = schemaOf(kind);
  const t = contractType(typeName);
  const field = (name: string) => {
    const symbol = checker.getPropertyOfType(t, name);
    assert.ok(symbol, `${typeName} has no ${name}`);
    return checker.getTypeOfSymbol(symbol);
  };
  assert.deepEqual(
    checker
      .getPropertiesOfType(t)
      .map((p) => p.name)
      .sort(),
    Object.keys(schema.properties!).sort(),
    `${typeName}: top-level fields`,
  );
  const literal = (name: string) => {
    const type = field(name);
    return type.isStringLiteral() ? type.value : checker.typeToString(type);
  };
  assert.equal(literal('apiVersion'), `${crdOf(kind).spec.group}/${crdOf(kind).spec.versions[0].name}`, `${typeName}.apiVersion`);
  assert.equal(literal('kind'), kind, `${typeName}.kind`);
  const status = checker.getNonNullableType(field('status'));
  return [
    ...drift(schema.properties!.spec, field('spec'), 'spec', form),
    ...(form === 'apply'
      ? status.flags & ts.TypeFlags.Never
        ? []
        : [`${typeName}: the control plane writes no status`]
      : drift(schema.properties!.status, status, 'status', 'status')),
  ];
}

describe('Kubernetes contract', () => {
  it('compiles on its own and imports nothing, so both module systems can load it', () => {
    assert.deepEqual(
      ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')),
      [],
    );
    const imports = source.statements.filter(
      (s) => ts.isImportDeclaration(s) || ts.isImportEqualsDeclaration(s) || (ts.isExportDeclaration(s) && s.moduleSpecifier),
    );
    assert.deepEqual(
      imports.map((s) => s.getText(source)),
      [],
    );
    // ESM for the operators' NodeNext build; the app's CommonJS build ignores it.
    assert.deepEqual(JSON.parse(readFileSync(join(ROOT, 'contracts', 'kubernetes', 'package.json'), 'utf8')), { type: 'module' });
  });

  it('names the group, version, kinds, plurals and finalizers of the CRDs', () => {
    for (const kind of KINDS) {
      const crd = crdOf(kind);
      assert.equal(crd.spec.group, contract.GROUP);
      assert.deepEqual(
        crd.spec.versions.map((v: any) => [v.name, v.served, v.storage]),
        [[contract.VERSION, true, true]],
        `${kind}: the one version`,
      );
      assert.equal(crd.spec.names.plural, contract.PLURALS[kind]);
      assert.equal(crd.metadata.name, `${contract.PLURALS[kind]}.${contract.GROUP}`);
      assert.deepEqual(contract.customObjects(kind, 'ns'), {
        group: contract.GROUP,
        version: contract.VERSION,
        namespace: 'ns',
        plural: crd.spec.names.plural,
      });
    }
    assert.equal(contract.API_VERSION, `${contract.GROUP}/${contract.VERSION}`);
    // `<kind>.<group>/<purpose>`
    assert.match(contract.ISLAND_FINALIZER, new RegExp(`^${crdOf('Island').spec.names.singular}\\.${contract.GROUP.replace('.', '\\.')}/[a-z-]+$`));
    assert.match(contract.NODESET_FINALIZER, new RegExp(`^${crdOf('NodeSet').spec.names.singular}\\.${contract.GROUP.replace('.', '\\.')}/[a-z-]+$`));
  });

  it('uses label and annotation keys of our group (or the well-known app.kubernetes.io ones), each once', () => {
    const keys = [...Object.values(contract.LABELS), ...Object.values(contract.ANNOTATIONS)];
    for (const key of keys) assert.match(key, /^(archipelago\.dev|app\.kubernetes\.io)\/[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, key);
    assert.equal(new Set(Object.values(contract.LABELS)).size, Object.values(contract.LABELS).length, 'label keys are distinct');
    assert.equal(new Set(Object.values(contract.ANNOTATIONS)).size, Object.values(contract.ANNOTATIONS).length, 'annotation keys are distinct');
  });

  it('keeps the control plane and the operator distinct field managers', () => {
    assert.notEqual(contract.FIELD_MANAGERS.controlPlane, contract.FIELD_MANAGERS.operator);
  });

  it('validates node features with the NodeSet CRD pattern', () => {
    assert.equal(contract.NODE_FEATURE.source, schemaOf('NodeSet').properties!.spec.properties!.features.items!.pattern);
  });

  for (const [kind, stored, applied] of [
    ['Island', 'Island', 'IslandApply'],
    ['NodeSet', 'NodeSet', 'NodeSetApply'],
  ] as const) {
    it(`types ${kind} as the server stores it: every CRD field, its type, enum and whether it is always there`, () => {
      assert.deepEqual(resourceDrift(kind, stored, 'stored'), []);
    });
    it(`types ${kind} as the control plane applies it: optional exactly where the CRD does not require`, () => {
      assert.deepEqual(resourceDrift(kind, applied, 'apply'), []);
    });
  }

  it('finds drift (the comparison is not vacuous)', () => {
    const island = schemaOf('Island');
    const spec = island.properties!.spec;
    const renamed: Schema = { ...spec, properties: { ...spec.properties, boundMicros: spec.properties!.boundMs } };
    delete renamed.properties!.boundMs;
    const slurm = spec.properties!.slurm;
    const stricter: Schema = {
      ...spec,
      required: [...spec.required!, 'tier'],
      properties: { ...spec.properties, slurm: { ...slurm, properties: { ...slurm.properties, image: { type: 'integer' } } } },
    };
    const specType = checker.getTypeOfSymbol(checker.getPropertyOfType(contractType('IslandApply'), 'spec')!);
    assert.deepEqual(drift(renamed, specType, 'spec', 'apply').sort(), [
      'spec.boundMicros: in the CRD, not in the contract',
      'spec.boundMs: in the contract, not in the CRD',
    ]);
    assert.deepEqual(drift(stricter, specType, 'spec', 'apply').sort(), [
      'spec.slurm.image: integer in the CRD, string in the contract',
      'spec.tier: optional in the contract, required in the CRD',
    ]);
    const status = island.properties!.status;
    const phase = status.properties!.phase;
    const moreLenient: Schema = { ...status, properties: { ...status.properties, phase: { ...phase, enum: [...phase.enum!, 'Frozen'] } } };
    const statusType = checker.getNonNullableType(checker.getTypeOfSymbol(checker.getPropertyOfType(contractType('Island'), 'status')!));
    assert.deepEqual(
      drift(moreLenient, statusType, 'status', 'status').map((line) => line.split(':')[0]),
      ['status.phase'],
    );
  });
});

// ---------------------------------------------------------------- what the launcher writes

/** Strict (unknown fields fail) validation as written, before any defaulting: what server-side apply receives. */
function writeErrors(kind: contract.Kind, body: object): string[] {
  const schema = schemaOf(kind);
  const lenientMetadata = {
    ...schema,
    properties: { ...schema.properties, metadata: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
  } as Schema;
  return validate(lenientMetadata, body, '', { strict: true }).map((e) => `${e.field}: ${e.message}`);
}

describe('Kubernetes island launcher resources', () => {
  it('are Islands the CRD accepts as written', () => {
    const target = { namespace: 'islands', slurmImage: 'registry.example/archipelago/slurm' };
    const plain = islandResource({ name: 'tight-1', tier: 'tight', boundMs: 2.5, partitions: ['batch', 'long'], keepState: false }, target);
    assert.deepEqual(writeErrors('Island', plain), []);
    const pinned = islandResource({ name: 'loose-3', tier: 'loose', boundMs: 30, partitions: ['p'], keepState: true }, { ...target, slurmVersion: '23.11.4' });
    assert.deepEqual(writeErrors('Island', pinned), []);
    assert.equal(pinned.spec.slurm.version, '23.11.4');
    assert.equal(pinned.metadata.labels?.[contract.LABELS.tier], 'loose');
  });

  it('are NodeSets the CRD accepts as written, with or without GPUs, features it would refuse left out', () => {
    const target = { namespace: 'islands' };
    const gpu = nodeSetResource(
      'tight-1',
      { node: 'gpu-node-17', cpus: 64, memoryMb: 512000, gres: ['gpu:A100:4', 'license:x:1'], features: ['eu-west', 'bad feature', 'x'.repeat(65)] },
      target,
    );
    assert.deepEqual(writeErrors('NodeSet', gpu), []);
    assert.deepEqual(gpu.spec.features, ['eu-west']);
    assert.deepEqual(gpu.spec.nodeSelector, { [contract.LABELS.node]: 'gpu-node-17' });
    const cpu = nodeSetResource(
      'tight-1',
      { node: 'Node7.Example', cpus: 1, memoryMb: 1, gres: [], features: [] },
      { ...target, nodeLabel: 'example.org/host' },
    );
    assert.deepEqual(writeErrors('NodeSet', cpu), []);
    assert.equal(cpu.spec.gpus, undefined);
    assert.equal(cpu.metadata.labels?.[contract.LABELS.island], 'tight-1');
  });

  it('are checked for real (a write the CRD refuses is reported)', () => {
    const bad = nodeSetResource('tight-1', { node: 'n1', cpus: 0, memoryMb: 1, gres: [], features: [] }, { namespace: 'islands' });
    assert.deepEqual(
      writeErrors('NodeSet', { ...bad, spec: { ...bad.spec, zone: 'eu' } })
        .map((e) => e.split(':')[0])
        .sort(),
      ['spec.cpus', 'spec.zone'],
    );
  });
});

describe('RBAC for the contract', () => {
  it('grants the launcher and the operator exactly the contract’s resources of its group', () => {
    const roles = (loadAll(readFileSync(join(ROOT, 'k8s', 'base', 'rbac.yaml'), 'utf8')) as Record<string, any>[]).filter((d) => d?.kind === 'Role');
    const known = new Set(KINDS.flatMap((k) => [contract.PLURALS[k], `${contract.PLURALS[k]}/status`, `${contract.PLURALS[k]}/finalizers`]));
    for (const name of ['archipelago-island-launcher', 'archipelago-operator']) {
      const rules = roles.find((r) => r.metadata.name === name)!.rules.filter((r: any) => r.apiGroups.includes(contract.GROUP));
      const resources: string[] = rules.flatMap((r: any) => r.resources);
      assert.deepEqual(
        resources.filter((r) => !known.has(r)),
        [],
        `${name}: resources outside the contract`,
      );
      for (const kind of KINDS) assert.ok(resources.includes(contract.PLURALS[kind]), `${name}: ${contract.PLURALS[kind]}`);
    }
  });
});
