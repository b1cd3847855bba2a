/**
 * The part of the API server's structural-schema machinery a custom resource goes through on every write:
 * pruning of unknown fields, defaulting (recursive, so a defaulted `{}` gets its nested defaults), then
 * validation of types, required fields, enums, bounds, lengths, patterns and list sizes. CEL rules
 * (x-kubernetes-validations) are not evaluated: the CRDs in k8s/crds declare none.
 * `strict` reports unknown fields instead of pruning them (kubectl --validate=strict); the manifest tests
 * use it with the built-in schema subset so a misspelt field fails.
 */
export interface Schema {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  description?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  additionalProperties?: Schema | boolean;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minItems?: number;
  maxItems?: number;
  format?: string;
  default?: unknown;
  nullable?: boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-list-type'?: string;
  'x-kubernetes-list-map-keys'?: string[];
}

export interface FieldError {
  field: string;
  message: string;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Drops fields the schema does not know, in place, unless the subtree preserves unknown fields. */
export function prune(schema: Schema, value: unknown): void {
  if (schema['x-kubernetes-preserve-unknown-fields'] && !schema.properties) return;
  if (Array.isArray(value)) {
    if (schema.items) for (const item of value) prune(schema.items, item);
    return;
  }
  if (!isObject(value)) return;
  for (const key of Object.keys(value)) {
    const sub = schema.properties?.[key] ?? (isObject(schema.additionalProperties) ? schema.additionalProperties : undefined);
    if (sub) prune(sub, value[key]);
    else if (!schema['x-kubernetes-preserve-unknown-fields'] && schema.additionalProperties !== true) delete value[key];
  }
}

/** Fills absent fields that have a default, in place, top-down. */
export function applyDefaults(schema: Schema, value: unknown): void {
  if (Array.isArray(value)) {
    if (schema.items) for (const item of value) applyDefaults(schema.items, item);
    return;
  }
  if (!isObject(value)) return;
  for (const [key, sub] of Object.entries(schema.properties ?? {})) {
    if (value[key] === undefined && sub.default !== undefined) value[key] = structuredClone(sub.default as Json);
    if (value[key] !== undefined) applyDefaults(sub, value[key]);
  }
  if (isObject(schema.additionalProperties)) for (const v of Object.values(value)) applyDefaults(schema.additionalProperties, v);
}

const FORMATS: Record<string, RegExp> = {
  'date-time': /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/,
};

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

export function validate(schema: Schema, value: unknown, path = '', options: { strict?: boolean } = {}): FieldError[] {
  const errors: FieldError[] = [];
  const at = path || '<root>';
  const fail = (message: string) => errors.push({ field: at, message });
  if (value === null) {
    if (!schema.nullable) fail('Invalid value: "null": must not be null');
    return errors;
  }
  const actual = typeOf(value);
  if (schema['x-kubernetes-int-or-string']) {
    if (actual !== 'integer' && actual !== 'string') fail(`Invalid value: "${actual}": must be an integer or a string`);
  } else if (schema.type) {
    const ok = schema.type === actual || (schema.type === 'number' && actual === 'integer');
    if (!ok) {
      fail(`Invalid value: "${actual}": ${at} in body must be of type ${schema.type}: "${actual}"`);
      return errors;
    }
  }
  if (schema.enum && !schema.enum.some((e) => e === value)) {
    fail(`Unsupported value: ${JSON.stringify(value)}: supported values: ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}`);
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum)
      fail(`Invalid value: ${value}: ${at} in body should be greater than or equal to ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum)
      fail(`Invalid value: ${value}: ${at} in body should be less than or equal to ${schema.maximum}`);
  }
  if (typeof value === 'string') {
    if (schema.minLength !== undefined && value.length < schema.minLength)
      fail(`Invalid value: "${value}": ${at} in body should be at least ${schema.minLength} chars long`);
    if (schema.maxLength !== undefined && value.length > schema.maxLength) fail(`Too long: may not be longer than ${schema.maxLength}`);
    if (schema.pattern && !new RegExp(schema.pattern, 'u').test(value)) fail(`Invalid value: "${value}": ${at} in body should match '${schema.pattern}'`);
    if (schema.format && FORMATS[schema.format] && !FORMATS[schema.format].test(value))
      fail(`Invalid value: "${value}": ${at} in body must be of type ${schema.format}`);
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems)
      fail(`Invalid value: ${value.length}: ${at} in body should have at least ${schema.minItems} items`);
    if (schema.maxItems !== undefined && value.length > schema.maxItems) fail(`Too many: ${value.length}: must have at most ${schema.maxItems} items`);
    if (schema.items) value.forEach((item, i) => errors.push(...validate(schema.items!, item, `${path}[${i}]`, options)));
    const keys = schema['x-kubernetes-list-type'] === 'map' ? schema['x-kubernetes-list-map-keys'] : undefined;
    if (keys) {
      const seen = new Set<string>();
      value.forEach((item, i) => {
        const key = JSON.stringify(keys.map((k) => (isObject(item) ? item[k] : undefined)));
        if (seen.has(key)) errors.push({ field: `${path}[${i}]`, message: `Duplicate value: ${key}` });
        seen.add(key);
      });
    }
  }
  if (isObject(value)) {
    for (const key of schema.required ?? []) {
      if (value[key] === undefined) errors.push({ field: path ? `${path}.${key}` : key, message: 'Required value' });
    }
    for (const [key, v] of Object.entries(value)) {
      const child = path ? `${path}.${key}` : key;
      const sub = schema.properties?.[key] ?? (isObject(schema.additionalProperties) ? schema.additionalProperties : undefined);
      if (sub) errors.push(...validate(sub, v, child, options));
      else if (options.strict && !schema['x-kubernetes-preserve-unknown-fields'] && schema.additionalProperties !== true) {
        errors.push({ field: child, message: 'unknown field' });
      }
    }
  }
  return errors;
}

/** Prune, default, validate: the order the API server uses for a custom resource write. */
export function admit(schema: Schema, value: Record<string, unknown>): FieldError[] {
  prune(schema, value);
  applyDefaults(schema, value);
  return validate(schema, value);
}
