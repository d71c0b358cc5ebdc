import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { parseAllDocuments } from 'yaml';
import { injectManifests, uninjectManifests } from '../../src/inject/manifests.ts';
import { testConfig } from '../helpers/admission.ts';

const workloads = `
apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: shop }
spec:
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec: { containers: [{ name: web, image: nginx }] }
---
apiVersion: v1
kind: List
items:
  - apiVersion: batch/v1
    kind: CronJob
    metadata: { name: nightly }
    spec:
      schedule: "0 3 * * *"
      jobTemplate:
        spec:
          template:
            spec: { restartPolicy: OnFailure, containers: [{ name: job, image: busybox }] }
  - apiVersion: apps/v1
    kind: DaemonSet
    metadata: { name: agent }
    spec:
      selector: { matchLabels: { app: agent } }
      template:
        metadata: { labels: { app: agent } }
        spec: { hostNetwork: true, containers: [{ name: agent, image: agent }] }
---
apiVersion: v1
kind: ConfigMap
metadata: { name: settings }
data: { a: "1" }
`;

function docs(text: string): Record<string, any>[] {
  return parseAllDocuments(text).map((doc) => doc.toJS() as Record<string, any>);
}

test('weft inject adds the inject annotation to every pod template and passes other objects through', () => {
  const { output, report } = injectManifests(workloads, { config: testConfig(), manual: false });
  const [deployment, list, configMap] = docs(output);
  assert.equal(deployment!.spec.template.metadata.annotations['linkerd.io/inject'], 'enabled');
  assert.equal(list!.items[0].spec.jobTemplate.spec.template.metadata.annotations['linkerd.io/inject'], 'enabled');
  assert.deepEqual(configMap, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings' }, data: { a: '1' } });
  assert.deepEqual(report.map((line) => `${line.kind}:${line.result}`), ['Deployment:annotated', 'CronJob:annotated', 'DaemonSet:annotated', 'ConfigMap:passed-through']);
});

test('weft inject --manual writes the webhook sidecar; hostNetwork is skipped with the reason; uninject restores the input', () => {
  const { output, report } = injectManifests(workloads, { config: testConfig(), manual: true });
  const [deployment, list] = docs(output);
  assert.deepEqual(deployment!.spec.template.spec.containers.map((c: { name: string }) => c.name), ['weft-proxy', 'web']);
  assert.deepEqual(deployment!.spec.template.spec.initContainers.map((c: { name: string }) => c.name), ['weft-init']);
  assert.equal(deployment!.spec.template.metadata.labels['linkerd.io/workload-ns'], 'shop');
  assert.equal(list!.items[0].spec.jobTemplate.spec.template.spec.containers[0].name, 'weft-proxy');
  const skipped = report.find((line) => line.kind === 'DaemonSet');
  assert.equal(skipped?.result, 'skipped');
  assert.match(skipped?.detail ?? '', /^host_network_enabled/);

  const restored = uninjectManifests(output);
  assert.deepEqual(docs(restored.output), docs(workloads));
  assert.deepEqual(docs(uninjectManifests(injectManifests(workloads, { config: testConfig(), manual: false }).output).output), docs(workloads));
});

test('the weft inject CLI reads stdin, reports on stderr and fails clearly on bad YAML', () => {
  const weft = new URL('../../bin/weft.js', import.meta.url).pathname;
  const ok = spawnSync(process.execPath, [weft, 'inject', '-'], { input: workloads, encoding: 'utf8' });
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /linkerd\.io\/inject: enabled/);
  assert.match(ok.stderr, /stdin:1 deployment "web" annotated/);
  const bad = spawnSync(process.execPath, [weft, 'inject', '-'], { input: 'a: [unclosed', encoding: 'utf8' });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /stdin: document 1: /);
  const none = spawnSync(process.execPath, [weft, 'inject'], { encoding: 'utf8' });
  assert.equal(none.status, 2);
  assert.match(none.stderr, /expected one or more files/);
  const missing = spawnSync(process.execPath, [weft, 'inject', '/nonexistent.yaml'], { encoding: 'utf8' });
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /cannot read \/nonexistent\.yaml: ENOENT/);
});
