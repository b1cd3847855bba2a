export { FakeKubeApiServer, mergePatch, type FakeApiServerOptions } from './server.js';
export { BUILTIN_SCHEMAS } from './builtin-schemas.js';
export { admit, applyDefaults, prune, validate, type FieldError, type Schema } from './structural-schema.js';
