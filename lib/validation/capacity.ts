import type { EnvironmentConfig } from '../config/load';

export type { WorkloadDemand } from '../core/kubernetes-object';
import type { KubernetesObject, WorkloadDemand } from '../core/kubernetes-object';
import { formatBytes, parseQuantity } from '../core/quantity';
import { SIDECAR_RESOURCES } from '../mesh/sidecar';

/*
 * The capacity check: does everything the installation requests fit on the configured node
 * pool, with one node lost? Requests are what the scheduler reserves, so they are what must fit
 * (sidecars included). Replicas are counted at the HPA minimum (what must fit) and at the
 * maximum (reported, so the pool can be planned for peak).
 */

export interface CapacityReport {
  readonly environment: string;
  readonly workloads: readonly WorkloadDemand[];
  readonly nodes: number;
  /** Allocatable of one node (capacity less the kubelet's reservation). */
  readonly nodeCpu: number;
  readonly nodeMemory: number;
  /** Nodes that must hold the minimum: all but one, when there is more than one. */
  readonly survivingNodes: number;
  readonly minimum: { readonly cpu: number; readonly memory: number };
  readonly maximum: { readonly cpu: number; readonly memory: number };
  readonly fits: boolean;
  /** Why it does not fit: totals over the pool, a pod larger than a node, or pods left unplaced. */
  readonly problems: readonly string[];
}

/** Istio injects a sidecar into pods of these namespaces unless a pod opts out. */
export interface CapacityInputs {
  readonly injectedNamespaces: ReadonlySet<string>;
  /** Workloads that Helm releases create (not in `dist/` as objects). */
  readonly platformWorkloads: readonly WorkloadDemand[];
}

export class CapacityError extends Error {
  constructor(public readonly report: CapacityReport) {
    super(
      `the installation does not fit on the node pool${report.survivingNodes < report.nodes ? ' with one node lost' : ''} (configure cluster, or lower requests and replicas):\n${formatCapacity(report)}`,
    );
    this.name = 'CapacityError';
  }
}

interface PodTemplate {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: { containers?: Container[]; initContainers?: Container[] };
}
interface Container {
  resources?: { requests?: { cpu?: string | number; memory?: string | number } };
  restartPolicy?: string;
}

/** The pods that the rendered objects run, with their requests. Jobs are transient and not counted. */
export function workloadDemands(
  objects: ReadonlyArray<{ layer: string; object: KubernetesObject }>,
  inputs: CapacityInputs,
): WorkloadDemand[] {
  const autoscalers = new Map<string, { min: number; max: number }>();
  for (const { object } of objects) {
    if (object.kind !== 'HorizontalPodAutoscaler') continue;
    const spec = object.spec as { scaleTargetRef: { kind: string; name: string }; minReplicas?: number; maxReplicas: number };
    autoscalers.set(`${object.metadata.namespace}/${spec.scaleTargetRef.kind}/${spec.scaleTargetRef.name}`, {
      min: spec.minReplicas ?? 1,
      max: spec.maxReplicas,
    });
  }
  const demands: WorkloadDemand[] = [];
  for (const { layer, object } of objects) {
    if (object.kind === 'Cluster' && object.apiVersion.startsWith('postgresql.cnpg.io/')) {
      demands.push(cloudNativePgDemand(layer, object, inputs));
      continue;
    }
    if (!['Deployment', 'StatefulSet', 'DaemonSet'].includes(object.kind)) continue;
    const spec = object.spec as { replicas?: number; template: PodTemplate };
    const namespace = object.metadata.namespace ?? 'default';
    const scaling = autoscalers.get(`${namespace}/${object.kind}/${object.metadata.name}`);
    const replicas = spec.replicas ?? 1;
    const { cpu, memory } = podRequests(spec.template, inputs.injectedNamespaces.has(namespace));
    demands.push({
      layer,
      kind: object.kind,
      namespace,
      name: object.metadata.name,
      minReplicas: scaling?.min ?? replicas,
      maxReplicas: scaling?.max ?? replicas,
      cpu,
      memory,
      ...(object.kind === 'DaemonSet' ? { perNode: true } : {}),
    });
  }
  return [...demands, ...inputs.platformWorkloads];
}

/** A CloudNativePG cluster runs `instances` pods that the operator creates from the Cluster's resources. */
function cloudNativePgDemand(layer: string, object: KubernetesObject, inputs: CapacityInputs): WorkloadDemand {
  const spec = object.spec as {
    instances?: number;
    resources?: Container['resources'];
    inheritedMetadata?: { labels?: Record<string, string> };
  };
  const namespace = object.metadata.namespace ?? 'default';
  const template: PodTemplate = {
    metadata: { labels: spec.inheritedMetadata?.labels ?? {} },
    spec: { containers: [{ resources: spec.resources ?? {} }] },
  };
  const { cpu, memory } = podRequests(template, inputs.injectedNamespaces.has(namespace));
  const instances = spec.instances ?? 1;
  return { layer, kind: 'Cluster', namespace, name: object.metadata.name, minReplicas: instances, maxReplicas: instances, cpu, memory };
}

/** Requests of one pod: its containers, the largest init container if larger, and the sidecar. */
export function podRequests(template: PodTemplate, namespaceInjected: boolean): { cpu: number; memory: number } {
  const request = (container: Container, resource: 'cpu' | 'memory') => parseQuantity(container.resources?.requests?.[resource] ?? 0);
  const containers = template.spec?.containers ?? [];
  const init = template.spec?.initContainers ?? [];
  // Native sidecars (init containers that keep running) add up with the app containers.
  const sidecars = init.filter((container) => container.restartPolicy === 'Always');
  const plainInit = init.filter((container) => container.restartPolicy !== 'Always');
  const sum = (list: Container[], resource: 'cpu' | 'memory') => list.reduce((total, container) => total + request(container, resource), 0);
  const injected = namespaceInjected && template.metadata?.labels?.['sidecar.istio.io/inject'] !== 'false';
  const annotations = template.metadata?.annotations ?? {};
  const sidecarCpu = injected ? parseQuantity(annotations['sidecar.istio.io/proxyCPU'] ?? SIDECAR_RESOURCES.cpu) : 0;
  const sidecarMemory = injected ? parseQuantity(annotations['sidecar.istio.io/proxyMemory'] ?? SIDECAR_RESOURCES.memory) : 0;
  const resource = (name: 'cpu' | 'memory', sidecar: number) => {
    const running = sum(containers, name) + sum(sidecars, name) + sidecar;
    const initPeak = Math.max(0, ...plainInit.map((container) => request(container, name)));
    return Math.max(running, initPeak + sum(sidecars, name) + sidecar);
  };
  return { cpu: resource('cpu', sidecarCpu), memory: resource('memory', sidecarMemory) };
}

/**
 * Allocatable of a node: capacity less the kubelet's reservation, by the tiered formula that
 * GKE and AKS publish (CPU: 6% of the first core, 1% of the second, 0.5% of the next two,
 * 0.25% above four; memory: 25% of the first 4 GiB, 20% of the next 4, 10% of the next 8, 6% of
 * the next 112, 2% above) plus a 100 MiB eviction threshold.
 */
export function allocatable(cpu: number, memory: number): { cpu: number; memory: number } {
  const tiers = (value: number, steps: ReadonlyArray<[number, number]>) => {
    let reserved = 0;
    let remaining = value;
    for (const [size, rate] of steps) {
      const part = Math.min(remaining, size);
      reserved += part * rate;
      remaining -= part;
      if (remaining <= 0) break;
    }
    return reserved;
  };
  const GiB = 2 ** 30;
  const cpuReserved = tiers(cpu, [
    [1, 0.06],
    [1, 0.01],
    [2, 0.005],
    [Infinity, 0.0025],
  ]);
  const memoryReserved =
    tiers(memory, [
      [4 * GiB, 0.25],
      [4 * GiB, 0.2],
      [8 * GiB, 0.1],
      [112 * GiB, 0.06],
      [Infinity, 0.02],
    ]) +
    100 * 2 ** 20;
  return { cpu: cpu - cpuReserved, memory: memory - memoryReserved };
}

export function capacityReport(config: EnvironmentConfig, workloads: readonly WorkloadDemand[]): CapacityReport {
  const nodes = config.cluster.nodes;
  const node = allocatable(parseQuantity(config.cluster.cpuPerNode), parseQuantity(config.cluster.memoryPerNode));
  const survivingNodes = nodes > 1 ? nodes - 1 : 1;
  const total = (replicas: (workload: WorkloadDemand) => number) => ({
    cpu: workloads.reduce((sum, workload) => sum + workload.cpu * replicas(workload), 0),
    memory: workloads.reduce((sum, workload) => sum + workload.memory * replicas(workload), 0),
  });
  const minimum = total((workload) => (workload.perNode ? survivingNodes : workload.minReplicas));
  const maximum = total((workload) => (workload.perNode ? nodes : workload.maxReplicas));
  const problems: string[] = [];
  if (minimum.cpu > node.cpu * survivingNodes) problems.push(`CPU requests exceed the allocatable CPU of ${survivingNodes} node(s)`);
  if (minimum.memory > node.memory * survivingNodes)
    problems.push(`memory requests exceed the allocatable memory of ${survivingNodes} node(s)`);
  for (const workload of workloads) {
    if (workload.cpu > node.cpu || workload.memory > node.memory)
      problems.push(`a pod of ${workload.kind} ${workload.namespace}/${workload.name} requests more than one node has`);
  }
  if (problems.length === 0) problems.push(...unplacedPods(workloads, node, survivingNodes));
  return {
    environment: config.environment,
    workloads,
    nodes,
    nodeCpu: node.cpu,
    nodeMemory: node.memory,
    survivingNodes,
    minimum,
    maximum,
    fits: problems.length === 0,
    problems,
  };
}

/**
 * Totals can fit while pods do not: places every pod at the minimum, largest first, on the
 * surviving nodes (first fit decreasing, as the scheduler packs at best), per-node pods on each.
 */
function unplacedPods(workloads: readonly WorkloadDemand[], node: { cpu: number; memory: number }, nodes: number): string[] {
  const free = Array.from({ length: nodes }, () => ({ ...node }));
  for (const workload of workloads.filter((entry) => entry.perNode)) {
    for (const bin of free) {
      bin.cpu -= workload.cpu;
      bin.memory -= workload.memory;
    }
  }
  const pods = workloads
    .filter((workload) => !workload.perNode)
    .flatMap((workload) => Array.from({ length: workload.minReplicas }, () => workload))
    .sort((a, b) => b.memory - a.memory || b.cpu - a.cpu);
  const unplaced = new Set<string>();
  for (const pod of pods) {
    const bin = free.find((candidate) => candidate.cpu >= pod.cpu && candidate.memory >= pod.memory);
    if (!bin) {
      unplaced.add(`${pod.kind} ${pod.namespace}/${pod.name}`);
      continue;
    }
    bin.cpu -= pod.cpu;
    bin.memory -= pod.memory;
  }
  return [...unplaced].map((name) => `no node has room left for a pod of ${name} (pods placed largest first)`);
}

const cores = (value: number) => `${value.toFixed(2)} CPU`;
const memory = (value: number) => `${(value / 2 ** 30).toFixed(1)} GiB`;

/** A one-screen summary: totals against the pool, then the largest workloads. */
export function formatCapacity(report: CapacityReport): string {
  const pool = { cpu: report.nodeCpu * report.survivingNodes, memory: report.nodeMemory * report.survivingNodes };
  const lines = [
    ...report.problems.map((problem) => `does not fit: ${problem}`),
    `capacity of ${report.environment}: ${report.nodes} node(s) of ${cores(report.nodeCpu)} / ${memory(report.nodeMemory)} allocatable; the minimum must fit on ${report.survivingNodes}${report.survivingNodes < report.nodes ? ' (one node lost)' : ' (a single node: no room to lose one)'}`,
    `  requested at minimum replicas: ${cores(report.minimum.cpu)} of ${cores(pool.cpu)} (${percent(report.minimum.cpu, pool.cpu)}), ${memory(report.minimum.memory)} of ${memory(pool.memory)} (${percent(report.minimum.memory, pool.memory)})`,
    `  headroom at minimum:           ${cores(pool.cpu - report.minimum.cpu)}, ${memory(pool.memory - report.minimum.memory)}`,
    `  requested at maximum replicas: ${cores(report.maximum.cpu)} of ${cores(report.nodeCpu * report.nodes)}, ${memory(report.maximum.memory)} of ${memory(report.nodeMemory * report.nodes)} (all nodes)`,
    `  ${'workload'.padEnd(52)} ${'pods'.padStart(7)} ${'CPU/pod'.padStart(8)} ${'mem/pod'.padStart(8)} ${'CPU min'.padStart(8)} ${'mem min'.padStart(9)}`,
  ];
  // Names compared by code unit, not localeCompare: the same order under every locale (and no ICU collator to load).
  const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  const sorted = [...report.workloads].sort((a, b) => b.memory * b.minReplicas - a.memory * a.minReplicas || byName(a, b));
  for (const workload of sorted) {
    const pods = workload.perNode
      ? 'per node'
      : workload.minReplicas === workload.maxReplicas
        ? `${workload.minReplicas}`
        : `${workload.minReplicas}-${workload.maxReplicas}`;
    const count = workload.perNode ? report.survivingNodes : workload.minReplicas;
    lines.push(
      `  ${`${workload.kind} ${workload.namespace}/${workload.name}`.padEnd(52)} ${pods.padStart(7)} ${workload.cpu.toFixed(2).padStart(8)} ${formatBytes(Math.round(workload.memory / 2 ** 20) * 2 ** 20).padStart(8)} ${(workload.cpu * count).toFixed(2).padStart(8)} ${memory(workload.memory * count).padStart(9)}`,
    );
  }
  return lines.join('\n');
}

function percent(part: number, whole: number): string {
  return `${Math.round((part / whole) * 100)}%`;
}
