import { readFileSync } from 'node:fs';
import fastJsonPatch from 'fast-json-patch';
import { pino } from 'pino';
import type { KubeObject } from '../../src/kube/types.ts';
import { FileClusterState } from '../../src/kube/file-state.ts';
import { defaultInjectorConfig } from '../../src/inject/config.ts';
import type { InjectorConfig } from '../../src/inject/config.ts';
import type { JsonPatchOperation } from '../../src/admission/types.ts';

export interface ReviewFixture {
  apiVersion: string;
  kind: string;
  request: { uid: string; namespace?: string; object: KubeObject; [key: string]: unknown };
}

export function loadReview(name: string): ReviewFixture {
  return JSON.parse(readFileSync(new URL(`../fixtures/admission/${name}.json`, import.meta.url), 'utf8')) as ReviewFixture;
}

export const silentLog = pino({ level: 'silent' });

export function testConfig(): InjectorConfig {
  const config = defaultInjectorConfig('0.1.0-test');
  config.trustAnchorsPEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
  return config;
}

/** The namespaces the tests run against: "demo" opts in, "plain" does not, "off" opts out. */
export function testClusterState(version = { major: 1, minor: 30 }): FileClusterState {
  const ns = (name: string, annotations: Record<string, string> = {}): KubeObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, annotations } });
  return FileClusterState.fromObjects(
    [
      ns('demo', { 'linkerd.io/inject': 'enabled' }),
      ns('plain'),
      ns('off', { 'linkerd.io/inject': 'disabled' }),
      ns('tuned', { 'linkerd.io/inject': 'enabled', 'config.linkerd.io/proxy-cpu-request': '250m', 'config.linkerd.io/skip-inbound-ports': '9000' }),
      ns('kube-system', { 'linkerd.io/inject': 'enabled' }),
      ns('weft', { 'linkerd.io/inject': 'enabled' }),
    ],
    version,
  );
}

/** Applies a patch exactly as the API server would: to a copy, validating every operation. */
export function applyPatch(object: KubeObject, patch: readonly JsonPatchOperation[]): KubeObject {
  const copy = fastJsonPatch.deepClone(object) as KubeObject;
  return fastJsonPatch.applyPatch(copy, fastJsonPatch.deepClone(patch) as fastJsonPatch.Operation[], true, true).newDocument as KubeObject;
}

export function decodePatch(base64: string): JsonPatchOperation[] {
  return JSON.parse(Buffer.from(base64, 'base64').toString('utf8')) as JsonPatchOperation[];
}

export interface PodShape {
  metadata: { annotations?: Record<string, string>; labels?: Record<string, string> };
  spec: { containers: Record<string, unknown>[]; initContainers?: Record<string, unknown>[]; volumes?: Record<string, unknown>[] };
}

export function asPod(object: KubeObject): PodShape {
  return object as unknown as PodShape;
}
