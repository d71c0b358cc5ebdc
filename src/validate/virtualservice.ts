import type { ClusterState } from '../kube/cluster-state.ts';
import type { Findings } from './collector.ts';
import type { Obj } from './json.ts';
export interface VirtualServiceContext { clusterState?: ClusterState; clusterDomain: string }
export function validateVirtualService(_object: Obj, _f: Findings, _context: VirtualServiceContext): void {}
