import { Agent, fetch } from 'undici';

/** The agent's side of HTTP: JSON in, JSON out, problems as errors carrying the status and body. */
export class ServerError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown> | undefined,
  ) {
    super(`${status} ${(body?.title as string) ?? 'error'}: ${(body?.detail as string) ?? 'no detail'}`);
    this.name = 'ServerError';
  }
}

const TIMEOUT_MS = 15_000;

const fromAddress = new Map<string, Agent>();

/**
 * POSTs JSON; with `localAddress`, from that address of this machine. The control plane takes the
 * address a join comes from as the node's own (the only one peers may probe), so an agent that
 * answers probes on one of several addresses joins from it.
 */
export async function post<T>(server: string, path: string, body: unknown, localAddress?: string): Promise<T> {
  let dispatcher: Agent | undefined;
  if (localAddress) {
    dispatcher = fromAddress.get(localAddress) ?? new Agent({ localAddress });
    fromAddress.set(localAddress, dispatcher);
  }
  const response = await fetch(new URL(path, server), {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, application/problem+json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(TIMEOUT_MS),
    dispatcher,
  });
  const text = await response.text();
  let json: Record<string, unknown> | undefined;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!response.ok) throw new ServerError(response.status, json ?? { detail: text.slice(0, 200) });
  return json as T;
}

/** The control plane's base URL; plain http is only sensible on loopback or a private network. */
export function serverUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`--server ${raw} is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('--server must be an http(s) URL');
  if (url.protocol === 'http:' && !['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) {
    console.error(`warning: ${raw} is plain http; the join token travels in clear text`);
  }
  return url.toString();
}
