import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { resolve } from 'node:path';
import { TERMINAL_STATES } from '../../core/jobs/lifecycle';

/** Where the browser opens the web view (README, docs/operations.md). */
export const WEB_UI_PREFIX = '/ui/';

/** The page's TypeScript compiled by `tsc -p src/apps/web` (build.sh), beside this file's own output. */
const COMPILED = resolve(__dirname, '../web');
/** HTML and CSS are served as written: nothing to build, nothing fetched at run time. */
const ASSETS = resolve(__dirname, '../../../../src/apps/web/static');
const SERVED = /^\/[a-z0-9-]+\.(html|css|js)$|^\/$/;
/**
 * What the page shares with src/core, written out as a module at start: the page's browser modules
 * cannot import the core's CommonJS (declared for the page's compiler in web/job-states.d.ts).
 */
const JOB_STATES_MODULE = `export const TERMINAL_STATES = ${JSON.stringify([...TERMINAL_STATES])};\n`;

/**
 * Only this origin's own files run: no inline script or style, no framing (the page holds a bearer
 * token in sessionStorage, so an injected script or a clickjacking frame is what to keep out).
 */
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/**
 * The web view for researchers and admins, served by the API process itself at /ui/. The page is
 * static and public; everything it shows comes from the REST API with the signed-in user's token.
 */
export function installWebUi(fastify: FastifyInstance): void {
  fastify.register(fastifyStatic, {
    root: [COMPILED, ASSETS],
    prefix: WEB_UI_PREFIX,
    index: 'index.html',
    // @nestjs/swagger registers the plugin for /docs already (it owns reply.sendFile).
    decorateReply: false,
    allowedPath: (pathName) => SERVED.test(pathName),
    cacheControl: false,
    setHeaders: protect,
  });
  fastify.get(`${WEB_UI_PREFIX}job-states.js`, (_request, reply) => {
    protect(reply);
    return reply.type('text/javascript; charset=utf-8').send(JOB_STATES_MODULE);
  });
  fastify.get('/ui', (_request, reply) => reply.redirect(WEB_UI_PREFIX));
}

/** The headers every file of the page is served with. */
function protect(reply: FastifyReply): void {
  reply.header('content-security-policy', CSP);
  reply.header('x-content-type-options', 'nosniff');
  reply.header('referrer-policy', 'no-referrer');
  reply.header('cache-control', 'no-cache');
}
