import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import * as k8s from '@kubernetes/client-node';

import { API_VERSION, customObjects } from '../../contracts/kubernetes/v1alpha1.js';
import { FakeKubeApiServer } from '../../test/support/fake-kube-apiserver/index.js';
import { crdText, kubeConfigFor, waitFor } from './helpers.js';

const MAIN = fileURLToPath(new URL('../src/runtime/main.js', import.meta.url));

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

describe('operator process', () => {
  let server: FakeKubeApiServer;
  let kubeconfig: string;
  before(async () => {
    server = await FakeKubeApiServer.start();
    const objects = k8s.KubernetesObjectApi.makeApiClient(kubeConfigFor(server.kubeConfigOptions()));
    for (const p of ['islands', 'nodesets'] as const) await objects.create(k8s.loadYaml<k8s.KubernetesObject>(crdText(p)));
    kubeconfig = join(mkdtempSync(join(tmpdir(), 'operator-')), 'kubeconfig');
    writeFileSync(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        'current-context: fake',
        'clusters: [{name: fake, cluster: {server: "' + server.url + '", insecure-skip-tls-verify: true}}]',
        'users: [{name: fake, user: {}}]',
        'contexts: [{name: fake, context: {cluster: fake, user: fake}}]',
        '',
      ].join('\n'),
    );
  });
  after(() => server.close());

  it('leads, serves metrics, reconciles, and on SIGTERM exits 0 and hands the lease over', async () => {
    const port = await freePort();
    const proc = spawn(process.execPath, [MAIN], {
      env: { ...process.env, KUBECONFIG: kubeconfig, OPERATOR_NAMESPACE: 'default', METRICS_PORT: String(port), POD_NAME: 'op-0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    proc.stdout.on('data', (d) => (output += d));
    proc.stderr.on('data', (d) => (output += d));
    const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
    try {
      await waitFor(
        'leading',
        async () =>
          (await fetch(`http://127.0.0.1:${port}/readyz`)
            .then((r) => r.text())
            .catch(() => '')) === 'leading',
      );
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      assert.match(metrics, /^archipelago_operator_leader 1$/m);
      const kc = kubeConfigFor(server.kubeConfigOptions());
      const custom = kc.makeApiClient(k8s.CustomObjectsApi);
      await custom.createNamespacedCustomObject({
        ...customObjects('Island', 'default'),
        body: { apiVersion: API_VERSION, kind: 'Island', metadata: { name: 'p' }, spec: { slurm: { image: 'r/s' }, partitions: [{ name: 'q' }] } },
      });
      await waitFor(
        'reconciled by the process',
        async () => (await custom.getNamespacedCustomObject({ ...customObjects('Island', 'default'), name: 'p' })).status?.phase === 'Provisioning',
      );
      const lease = await kc.makeApiClient(k8s.CoordinationV1Api).readNamespacedLease({ name: 'archipelago-operator', namespace: 'default' });
      assert.equal(lease.spec?.holderIdentity, 'op-0');
      proc.kill('SIGTERM');
      assert.equal(await exited, 0, output);
      const released = await kc.makeApiClient(k8s.CoordinationV1Api).readNamespacedLease({ name: 'archipelago-operator', namespace: 'default' });
      assert.equal(released.spec?.holderIdentity, undefined, 'lease handed over at shutdown');
      assert.equal(released.spec?.leaseDurationSeconds, 1);
    } finally {
      proc.kill('SIGKILL');
    }
  });
});
