import type { EnvironmentConfig } from '../config/load';

export type { WorkloadDemand } from '../core/kubernetes-object';
import type { KubernetesObject, NodeSelectorRequirement, PodPlacement, Toleration, WorkloadDemand } from '../core/kubernetes-object';
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
  /** Every node pool, the main one (`cluster`) first, with what is placed on it at the minimum. */
  readonly pools: readonly PoolReport[];
}

export interface PoolReport {
  readonly name: string;
  readonly nodes: number;
  readonly nodeCpu: number;
  readonly nodeMemory: number;
  readonly survivingNodes: number;
  /** Requests of the pods placed on the pool at the minimum (per-node pods on each surviving node). */
  readonly placed: { readonly cpu: number; readonly memory: number };
}

interface Pool {
  readonly name: string;
  readonly nodes: number;
  readonly node: { readonly cpu: number; readonly memory: number };
  readonly surviving: number;
  readonly labels: Readonly<Record<string, string>>;
  readonly taints: ReadonlyArray<{ readonly key: string; readonly value?: string; readonly effect: string }>;
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
  spec?: {
    containers?: Container[];
    initContainers?: Container[];
    nodeSelector?: Record<string, string>;
    tolerations?: Toleration[];
    affinity?: { nodeAffinity?: NodeAffinity };
  };
}
interface NodeAffinity {
  requiredDuringSchedulingIgnoredDuringExecution?: { nodeSelectorTerms?: PodPlacement['requiredNodeTerms'] };
}

/** The constraints of a pod spec on its nodes, or undefined when it has none. */
function placementOf(spec: {
  nodeSelector?: Record<string, string>;
  tolerations?: Toleration[];
  affinity?: { nodeAffinity?: NodeAffinity };
  nodeAffinity?: NodeAffinity;
}): PodPlacement | undefined {
  const terms = (spec.affinity?.nodeAffinity ?? spec.nodeAffinity)?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  const placement: PodPlacement = {
    ...(spec.nodeSelector && Object.keys(spec.nodeSelector).length > 0 ? { nodeSelector: spec.nodeSelector } : {}),
    ...(spec.tolerations && spec.tolerations.length > 0 ? { tolerations: spec.tolerations } : {}),
    ...(terms && terms.length > 0 ? { requiredNodeTerms: terms } : {}),
  };
  return Object.keys(placement).length > 0 ? placement : undefined;
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
    if (object.kind === 'HorizontalPodAutoscaler') {
      const spec = object.spec as { scaleTargetRef: { kind: string; name: string }; minReplicas?: number; maxReplicas: number };
      autoscalers.set(`${object.metadata.namespace}/${spec.scaleTargetRef.kind}/${spec.scaleTargetRef.name}`, {
        min: spec.minReplicas ?? 1,
        max: spec.maxReplicas,
      });
    } else if (object.kind === 'ScaledObject' && object.apiVersion.startsWith('keda.sh/')) {
      // KEDA's own defaults: at least 0, at most 100 replicas.
      const spec = object.spec as { scaleTargetRef: { kind?: string; name: string }; minReplicaCount?: number; maxReplicaCount?: number };
      autoscalers.set(`${object.metadata.namespace}/${spec.scaleTargetRef.kind ?? 'Deployment'}/${spec.scaleTargetRef.name}`, {
        min: spec.minReplicaCount ?? 0,
        max: spec.maxReplicaCount ?? 100,
      });
    }
  }
  // The Barman Cloud plugin's ObjectStores: the sidecar each adds to the instances that archive to it.
  const objectStores = new Map<string, Container['resources']>();
  for (const { object } of objects) {
    if (object.kind !== 'ObjectStore' || !object.apiVersion.startsWith('barmancloud.cnpg.io/')) continue;
    const spec = object.spec as { instanceSidecarConfiguration?: { resources?: Container['resources'] } };
    objectStores.set(`${object.metadata.namespace}/${object.metadata.name}`, spec.instanceSidecarConfiguration?.resources ?? {});
  }
  const demands: WorkloadDemand[] = [];
  for (const { layer, object } of objects) {
    if (object.kind === 'Cluster' && object.apiVersion.startsWith('postgresql.cnpg.io/')) {
      demands.push(cloudNativePgDemand(layer, object, inputs, objectStores));
      continue;
    }
    if (!['Deployment', 'StatefulSet', 'DaemonSet'].includes(object.kind)) continue;
    const spec = object.spec as { replicas?: number; template: PodTemplate };
    const namespace = object.metadata.namespace ?? 'default';
    const scaling = autoscalers.get(`${namespace}/${object.kind}/${object.metadata.name}`);
    const replicas = spec.replicas ?? 1;
    const { cpu, memory } = podRequests(spec.template, inputs.injectedNamespaces.has(namespace));
    const placement = placementOf(spec.template.spec ?? {});
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
      ...(placement ? { placement } : {}),
    });
  }
  return [...demands, ...inputs.platformWorkloads];
}

/**
 * A CloudNativePG cluster runs `instances` pods that the operator creates from the Cluster's
 * resources, with the sidecar of each plugin's ObjectStore it archives to.
 */
function cloudNativePgDemand(
  layer: string,
  object: KubernetesObject,
  inputs: CapacityInputs,
  objectStores: ReadonlyMap<string, Container['resources']>,
): WorkloadDemand {
  const spec = object.spec as {
    instances?: number;
    resources?: Container['resources'];
    plugins?: { name: string; parameters?: Record<string, string> }[];
    inheritedMetadata?: { labels?: Record<string, string> };
    affinity?: { nodeSelector?: Record<string, string>; tolerations?: Toleration[]; nodeAffinity?: NodeAffinity };
  };
  const namespace = object.metadata.namespace ?? 'default';
  const sidecars = (spec.plugins ?? []).flatMap((plugin) => {
    const store = plugin.parameters?.barmanObjectName;
    const resources = store === undefined ? undefined : objectStores.get(`${namespace}/${store}`);
    return resources === undefined ? [] : [{ resources }];
  });
  const template: PodTemplate = {
    metadata: { labels: spec.inheritedMetadata?.labels ?? {} },
    spec: { containers: [{ resources: spec.resources ?? {} }, ...sidecars] },
  };
  const { cpu, memory } = podRequests(template, inputs.injectedNamespaces.has(namespace));
  const instances = spec.instances ?? 1;
  const placement = placementOf(spec.affinity ?? {});
  return {
    layer,
    kind: 'Cluster',
    namespace,
    name: object.metadata.name,
    minReplicas: instances,
    maxReplicas: instances,
    cpu,
    memory,
    ...(placement ? { placement } : {}),
  };
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

/** The node pools: the main one (`cluster.nodes` …), then `cluster.pools`. */
function poolsOf(config: EnvironmentConfig): Pool[] {
  const pool = (name: string, nodes: number, cpu: string, memory: string, labels: Pool['labels'], taints: Pool['taints']): Pool => ({
    name,
    nodes,
    node: allocatable(parseQuantity(cpu), parseQuantity(memory)),
    surviving: nodes > 1 ? nodes - 1 : 1,
    labels,
    taints,
  });
  const { cluster } = config;
  return [
    pool('cluster', cluster.nodes, cluster.cpuPerNode, cluster.memoryPerNode, cluster.labels, cluster.taints),
    ...cluster.pools.map((extra) => pool(extra.name, extra.nodes, extra.cpuPerNode, extra.memoryPerNode, extra.labels, extra.taints)),
  ];
}

function tolerates(toleration: Toleration, taint: Pool['taints'][number]): boolean {
  if (toleration.effect !== undefined && toleration.effect !== taint.effect) return false;
  if (toleration.operator === 'Exists') return toleration.key === undefined || toleration.key === taint.key;
  return toleration.key === taint.key && (toleration.value ?? '') === (taint.value ?? '');
}

function satisfies(requirement: NodeSelectorRequirement, labels: Pool['labels']): boolean {
  const value = labels[requirement.key];
  const values = requirement.values ?? [];
  switch (requirement.operator) {
    case 'In':
      return value !== undefined && values.includes(value);
    case 'NotIn':
      return value === undefined || !values.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'Gt':
    case 'Lt': {
      const [bound] = values;
      if (value === undefined || bound === undefined) return false;
      return requirement.operator === 'Gt' ? Number(value) > Number(bound) : Number(value) < Number(bound);
    }
    default:
      return false;
  }
}

/** Whether the scheduler may put a pod with `placement` on the pool's nodes (labels, taints, required affinity). */
function admits(pool: Pool, placement: PodPlacement | undefined): boolean {
  if (!Object.entries(placement?.nodeSelector ?? {}).every(([key, value]) => pool.labels[key] === value)) return false;
  for (const taint of pool.taints) {
    if (taint.effect === 'PreferNoSchedule') continue;
    if (!(placement?.tolerations ?? []).some((toleration) => tolerates(toleration, taint))) return false;
  }
  const terms = placement?.requiredNodeTerms ?? [];
  return (
    terms.length === 0 || terms.some((term) => (term.matchExpressions ?? []).every((requirement) => satisfies(requirement, pool.labels)))
  );
}

export function capacityReport(config: EnvironmentConfig, workloads: readonly WorkloadDemand[]): CapacityReport {
  const pools = poolsOf(config);
  const main = pools[0] as Pool;
  const { nodes, node, surviving: survivingNodes } = main;
  const eligible = new Map(workloads.map((workload) => [workload, pools.filter((pool) => admits(pool, workload.placement))] as const));
  const poolsOfWorkload = (workload: WorkloadDemand) => eligible.get(workload) ?? [];
  const total = (replicas: (workload: WorkloadDemand) => number) => ({
    cpu: workloads.reduce((sum, workload) => sum + workload.cpu * replicas(workload), 0),
    memory: workloads.reduce((sum, workload) => sum + workload.memory * replicas(workload), 0),
  });
  const perNodeCount = (workload: WorkloadDemand, count: (pool: Pool) => number) =>
    poolsOfWorkload(workload).reduce((sum, pool) => sum + count(pool), 0);
  const minimum = total((workload) => (workload.perNode ? perNodeCount(workload, (pool) => pool.surviving) : workload.minReplicas));
  const maximum = total((workload) => (workload.perNode ? perNodeCount(workload, (pool) => pool.nodes) : workload.maxReplicas));
  const problems: string[] = [];
  const name = (workload: WorkloadDemand) => `${workload.kind} ${workload.namespace}/${workload.name}`;
  for (const workload of workloads) {
    if (poolsOfWorkload(workload).length === 0) {
      problems.push(
        `no node pool admits the pods of ${name(workload)} (${describePlacement(workload.placement)}): ${pools.map(describePool).join('; ')}`,
      );
    }
  }
  if (pools.length === 1) {
    if (minimum.cpu > node.cpu * survivingNodes) problems.push(`CPU requests exceed the allocatable CPU of ${survivingNodes} node(s)`);
    if (minimum.memory > node.memory * survivingNodes)
      problems.push(`memory requests exceed the allocatable memory of ${survivingNodes} node(s)`);
  }
  for (const workload of workloads) {
    const candidates = poolsOfWorkload(workload);
    if (candidates.length > 0 && !candidates.some((pool) => workload.cpu <= pool.node.cpu && workload.memory <= pool.node.memory)) {
      problems.push(
        pools.length === 1
          ? `a pod of ${name(workload)} requests more than one node has`
          : `a pod of ${name(workload)} requests more than one node of ${candidates.map((pool) => `pool ${pool.name}`).join(' or ')} has`,
      );
    }
  }
  const packing = pools.length > 1 || problems.length === 0 ? placePods(workloads, pools, poolsOfWorkload) : undefined;
  if (problems.length === 0 && packing) problems.push(...packing.problems);
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
    pools: pools.map((pool) => ({
      name: pool.name,
      nodes: pool.nodes,
      nodeCpu: pool.node.cpu,
      nodeMemory: pool.node.memory,
      survivingNodes: pool.surviving,
      placed: packing?.placed.get(pool) ?? (pools.length === 1 ? minimum : { cpu: 0, memory: 0 }),
    })),
  };
}

function describePlacement(placement: PodPlacement | undefined): string {
  if (!placement) return 'no nodeSelector, tolerations or node affinity';
  const parts = [
    placement.nodeSelector ? `nodeSelector ${JSON.stringify(placement.nodeSelector)}` : '',
    placement.tolerations
      ? `tolerations of ${placement.tolerations.map((toleration) => toleration.key ?? '*').join(', ')}`
      : 'no tolerations',
    placement.requiredNodeTerms ? 'a required node affinity' : '',
  ].filter(Boolean);
  return parts.join(', ');
}

function describePool(pool: Pool): string {
  const labels = Object.entries(pool.labels).map(([key, value]) => `${key}=${value}`);
  const taints = pool.taints.map((taint) => `${taint.key}${taint.value ? `=${taint.value}` : ''}:${taint.effect}`);
  return `pool ${pool.name} (labels ${labels.join(', ') || 'none'}; taints ${taints.join(', ') || 'none'})`;
}

/**
 * Totals can fit while pods do not: places every pod at the minimum, largest first, on the
 * surviving nodes of the pools that admit it (first fit decreasing, as the scheduler packs at
 * best), per-node pods on each node of those pools.
 */
function placePods(
  workloads: readonly WorkloadDemand[],
  pools: readonly Pool[],
  poolsOf: (workload: WorkloadDemand) => readonly Pool[],
): { problems: string[]; placed: Map<Pool, { cpu: number; memory: number }> } {
  const bins = pools.flatMap((pool) =>
    Array.from({ length: pool.surviving }, () => ({ pool, cpu: pool.node.cpu, memory: pool.node.memory })),
  );
  const placed = new Map(pools.map((pool) => [pool, { cpu: 0, memory: 0 }] as const));
  const take = (bin: (typeof bins)[number], workload: WorkloadDemand) => {
    bin.cpu -= workload.cpu;
    bin.memory -= workload.memory;
    const sum = placed.get(bin.pool) as { cpu: number; memory: number };
    sum.cpu += workload.cpu;
    sum.memory += workload.memory;
  };
  for (const workload of workloads.filter((entry) => entry.perNode)) {
    const admitted = poolsOf(workload);
    for (const bin of bins.filter((candidate) => admitted.includes(candidate.pool))) take(bin, workload);
  }
  const pods = workloads
    .filter((workload) => !workload.perNode)
    .flatMap((workload) => Array.from({ length: workload.minReplicas }, () => workload))
    .sort((a, b) => b.memory - a.memory || b.cpu - a.cpu);
  const unplaced = new Map<string, readonly Pool[]>();
  for (const pod of pods) {
    const admitted = poolsOf(pod);
    if (admitted.length === 0) continue;
    const bin = bins.find((candidate) => admitted.includes(candidate.pool) && candidate.cpu >= pod.cpu && candidate.memory >= pod.memory);
    if (!bin) {
      unplaced.set(`${pod.kind} ${pod.namespace}/${pod.name}`, admitted);
      continue;
    }
    take(bin, pod);
  }
  const problems = [...unplaced].map(([name, admitted]) =>
    pools.length === 1
      ? `no node has room left for a pod of ${name} (pods placed largest first)`
      : `no node of ${admitted.map((pool) => `pool ${pool.name}`).join(' or ')} has room left for a pod of ${name} (pods placed largest first)`,
  );
  return { problems, placed };
}

const cores = (value: number) => `${value.toFixed(2)} CPU`;
const memory = (value: number) => `${(value / 2 ** 30).toFixed(1)} GiB`;

/** A one-screen summary: totals against the pool, then the largest workloads. */
export function formatCapacity(report: CapacityReport): string {
  const { pools } = report;
  const multi = pools.length > 1;
  const sum = (value: (pool: PoolReport) => number) => pools.reduce((total, pool) => total + value(pool), 0);
  const pool = multi
    ? { cpu: sum((entry) => entry.nodeCpu * entry.survivingNodes), memory: sum((entry) => entry.nodeMemory * entry.survivingNodes) }
    : { cpu: report.nodeCpu * report.survivingNodes, memory: report.nodeMemory * report.survivingNodes };
  const all = multi
    ? { cpu: sum((entry) => entry.nodeCpu * entry.nodes), memory: sum((entry) => entry.nodeMemory * entry.nodes) }
    : { cpu: report.nodeCpu * report.nodes, memory: report.nodeMemory * report.nodes };
  const lines = [
    ...report.problems.map((problem) => `does not fit: ${problem}`),
    multi
      ? `capacity of ${report.environment}: ${pools.length} node pools; the minimum must fit with one node of each pool lost`
      : `capacity of ${report.environment}: ${report.nodes} node(s) of ${cores(report.nodeCpu)} / ${memory(report.nodeMemory)} allocatable; the minimum must fit on ${report.survivingNodes}${report.survivingNodes < report.nodes ? ' (one node lost)' : ' (a single node: no room to lose one)'}`,
    ...(multi
      ? pools.map((entry) => {
          const room = { cpu: entry.nodeCpu * entry.survivingNodes, memory: entry.nodeMemory * entry.survivingNodes };
          return `  pool ${entry.name}: ${entry.nodes} node(s) of ${cores(entry.nodeCpu)} / ${memory(entry.nodeMemory)}; placed at minimum: ${cores(entry.placed.cpu)} of ${cores(room.cpu)} (${percent(entry.placed.cpu, room.cpu)}), ${memory(entry.placed.memory)} of ${memory(room.memory)} (${percent(entry.placed.memory, room.memory)})`;
        })
      : []),
    `  requested at minimum replicas: ${cores(report.minimum.cpu)} of ${cores(pool.cpu)} (${percent(report.minimum.cpu, pool.cpu)}), ${memory(report.minimum.memory)} of ${memory(pool.memory)} (${percent(report.minimum.memory, pool.memory)})`,
    `  headroom at minimum:           ${cores(pool.cpu - report.minimum.cpu)}, ${memory(pool.memory - report.minimum.memory)}`,
    `  requested at maximum replicas: ${cores(report.maximum.cpu)} of ${cores(all.cpu)}, ${memory(report.maximum.memory)} of ${memory(all.memory)} (all nodes)`,
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
