/*
 * A company's changes to the synthesized objects, from the configuration (company-schema.ts),
 * in this order:
 *  1. charts: another URL (or an OCI registry) for a HelmRepository;
 *  2. images: every image of the output (and of the platform charts, through their values)
 *     pulled from its registry's mirror, and the pull secrets added;
 *  3. scheduling: the default, then each group the workload belongs to, then its own name
 *     (nodeSelector merged, tolerations and topology spread added, node affinity replaced), on
 *     the output's pod templates and through the platform charts' values;
 *  4. helmValues: merged over each release's generated values;
 *  5. metadata: common labels and annotations, never over the project's own;
 *  6. patches, last, by kind, namespace and name.
 * All before validation: what comes out is strictly validated and policy-checked like the rest.
 * With none of these set, every object comes out unchanged.
 */
import type { FieldProblem } from '../core/configuration-fault';
import { ConfigurationFault } from '../core/configuration-fault';
import { type KubernetesObject, POD_TEMPLATE_PATHS, type PodPlacement, type WorkloadDemand } from '../core/kubernetes-object';
import type { EnvironmentConfig } from '../config/load';
import type { Placement } from '../config/company-schema';
import { isQuantity, parseQuantity } from '../core/quantity';
import { resolveCatalog } from '../prefect/service-catalog';
import { applyJsonPatch, isMapping, JsonPatchError, mergePatch } from './patch';
import { mirrored } from './mirrors';
import { RELEASE_SETTINGS } from './release-settings';

type Mapping = Record<string, unknown>;

export interface LayerObject {
  readonly layer: string;
  object: KubernetesObject;
}

/** The pod template of a workload object, where POD_TEMPLATE_PATHS puts it ([] for other kinds). */
function podTemplates(object: KubernetesObject): Mapping[] {
  const path = POD_TEMPLATE_PATHS[object.kind];
  const template = path?.reduce<unknown>((node, key) => (isMapping(node) ? node[key] : undefined), object);
  return isMapping(template) && isMapping(template.spec) ? [template] : [];
}

/** Whether any of the company settings is in use (otherwise nothing is copied or changed). */
function inUse(config: EnvironmentConfig): boolean {
  const { scheduling, images, charts, metadata, helmValues, patches } = config;
  return (
    scheduling.default !== undefined ||
    Object.keys(scheduling.workloads).length > 0 ||
    Object.keys(images.mirrors).length > 0 ||
    images.pullSecrets.length > 0 ||
    Object.keys(charts).length > 0 ||
    Object.keys(metadata.labels).length > 0 ||
    Object.keys(metadata.annotations).length > 0 ||
    Object.keys(helmValues).length > 0 ||
    patches.length > 0
  );
}

/** One workload's placement: the default, then its groups in order (later ones win where they replace). */
export function mergePlacements(placements: readonly (Placement | undefined)[]): Placement | undefined {
  const given = placements.filter((placement): placement is Placement => placement !== undefined);
  if (given.length === 0) return undefined;
  const nodeSelector = Object.assign({}, ...given.map((placement) => placement.nodeSelector ?? {})) as Record<string, string>;
  const tolerations = given.flatMap((placement) => placement.tolerations ?? []);
  const nodeAffinity = given.reduce<Placement['nodeAffinity']>((last, placement) => placement.nodeAffinity ?? last, undefined);
  const topologySpreadConstraints = given.flatMap((placement) => placement.topologySpreadConstraints ?? []);
  return {
    ...(Object.keys(nodeSelector).length > 0 ? { nodeSelector } : {}),
    ...(tolerations.length > 0 ? { tolerations: dedupe(tolerations) } : {}),
    ...(nodeAffinity !== undefined ? { nodeAffinity } : {}),
    ...(topologySpreadConstraints.length > 0 ? { topologySpreadConstraints } : {}),
  };
}

function dedupe<T>(items: readonly T[]): T[] {
  const seen = new Set<string>();
  return items.filter((item) => {
    const key = JSON.stringify(item);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The scheduling groups of an object of the output, most general first (README, "Company clusters"). */
function workloadGroups(entry: LayerObject, config: EnvironmentConfig, serviceTypes: ReadonlyMap<string, string>): string[] {
  const { kind, metadata } = entry.object;
  const name = metadata.name;
  const namespace = metadata.namespace;
  if (kind === 'Deployment' && namespace === config.namespaces.prefect && serviceTypes.has(name)) {
    return ['prefect', `type:${serviceTypes.get(name)}`, name];
  }
  if (namespace === config.namespaces.data && (kind === 'StatefulSet' || kind === 'Cluster') && name === 'postgres') return ['postgres'];
  if (namespace === config.namespaces.data && (kind === 'StatefulSet' || kind === 'Deployment') && name.startsWith('redis-'))
    return ['redis', name];
  if (kind === 'CronJob' && name === 'postgres-backup') return ['jobs', 'postgres-backup'];
  if (kind === 'Job') {
    if (name.startsWith('postgres-init-')) return ['jobs', 'postgres-init'];
    if (entry.layer === 'migrations') return ['jobs', 'migrations'];
    return ['jobs'];
  }
  return [];
}

function placementFor(groups: readonly string[], config: EnvironmentConfig): Placement | undefined {
  return mergePlacements([config.scheduling.default, ...groups.map((group) => config.scheduling.workloads[group])]);
}

/**
 * Placement on `target`: nodeSelector merged, tolerations added, node affinity replaced, and the
 * spread added to `spread`'s topologySpreadConstraints (a constraint without labelSelector gets
 * `selector`, when there is one). A pod spec keeps its node affinity under `affinity`; a
 * CloudNativePG Cluster's `affinity` is itself the target, with the spread on the Cluster's spec.
 */
function place(
  target: Mapping,
  placement: Placement,
  options: { readonly affinityNested: boolean; readonly spread: Mapping; readonly selector?: Mapping },
): void {
  if (placement.nodeSelector) target.nodeSelector = { ...((target.nodeSelector as Mapping) ?? {}), ...placement.nodeSelector };
  if (placement.tolerations) target.tolerations = dedupe([...((target.tolerations as unknown[]) ?? []), ...placement.tolerations]);
  if (placement.nodeAffinity) {
    if (options.affinityNested) target.affinity = { ...((target.affinity as Mapping) ?? {}), nodeAffinity: placement.nodeAffinity };
    else target.nodeAffinity = placement.nodeAffinity;
  }
  if (placement.topologySpreadConstraints) {
    const { selector, spread } = options;
    const added = placement.topologySpreadConstraints.map((constraint) =>
      constraint.labelSelector === undefined && selector ? { ...constraint, labelSelector: { matchLabels: selector } } : constraint,
    );
    spread.topologySpreadConstraints = [...((spread.topologySpreadConstraints as unknown[]) ?? []), ...added];
  }
}

/** Common metadata on `metadata`, the project's own keys kept. */
function addMetadata(metadata: Mapping, config: EnvironmentConfig): void {
  const { labels, annotations } = config.metadata;
  if (Object.keys(labels).length > 0) metadata.labels = { ...labels, ...((metadata.labels as Mapping) ?? {}) };
  if (Object.keys(annotations).length > 0) metadata.annotations = { ...annotations, ...((metadata.annotations as Mapping) ?? {}) };
}

/** Every object of the output, with the company settings applied; a ConfigurationFault names what does not apply. */
export function customize(entries: readonly LayerObject[], config: EnvironmentConfig): LayerObject[] {
  if (!inUse(config)) return [...entries];
  const problems: FieldProblem[] = [];
  const result = entries.map((entry) => ({ layer: entry.layer, object: structuredClone(entry.object) }));
  const serviceTypes = new Map(resolveCatalog(config).map((service) => [service.name, service.type] as const));
  const { mirrors, pullSecrets } = config.images;

  // 1. Chart sources.
  const repositories = result.filter(({ object }) => object.kind === 'HelmRepository');
  for (const [name, source] of Object.entries(config.charts)) {
    const repository = repositories.find(({ object }) => object.metadata.name === name);
    if (!repository) {
      problems.push({
        field: `charts.${name}`,
        expectation: `expected a HelmRepository of the platform layer: ${repositories.map(({ object }) => object.metadata.name).join(', ') || 'none here'}`,
      });
      continue;
    }
    const spec = repository.object.spec as Mapping;
    spec.url = source.url;
    if (source.url.startsWith('oci://')) spec.type = 'oci';
    else delete spec.type;
    if (source.secretRef) spec.secretRef = { name: source.secretRef };
  }

  const releases = result.filter(({ object }) => object.kind === 'HelmRelease');
  for (const entry of result) {
    const { object } = entry;
    // 2 and 3 on the output's pods.
    const groups = workloadGroups(entry, config, serviceTypes);
    const placement = placementFor(groups, config);
    for (const template of podTemplates(object)) {
      const podSpec = template.spec as Mapping;
      for (const container of [...((podSpec.initContainers as Mapping[]) ?? []), ...((podSpec.containers as Mapping[]) ?? [])]) {
        if (typeof container.image === 'string') container.image = mirrored(container.image, mirrors);
      }
      if (pullSecrets.length > 0) {
        const existing = ((podSpec.imagePullSecrets as { name: string }[]) ?? []).map((secret) => secret.name);
        podSpec.imagePullSecrets = [...new Set([...existing, ...pullSecrets])].map((secret) => ({ name: secret }));
      }
      if (placement) {
        const selector = ((object.spec as Mapping).selector as Mapping | undefined)?.matchLabels as Mapping | undefined;
        place(podSpec, placement, { affinityNested: true, spread: podSpec, selector });
      }
    }
    if (object.kind === 'Cluster' && object.apiVersion.startsWith('postgresql.cnpg.io/')) {
      const spec = object.spec as Mapping;
      if (typeof spec.imageName === 'string') spec.imageName = mirrored(spec.imageName, mirrors);
      if (pullSecrets.length > 0) spec.imagePullSecrets = pullSecrets.map((secret) => ({ name: secret }));
      if (placement) {
        const affinity = { ...((spec.affinity as Mapping) ?? {}) };
        place(affinity, placement, { affinityNested: false, spread: spec });
        spec.affinity = affinity;
      }
    }
  }

  // 2, 3 and 4 on the platform releases, through their chart values.
  for (const [name, values] of Object.entries(config.helmValues)) {
    if (!releases.some(({ object }) => object.metadata.name === name)) {
      problems.push({
        field: `helmValues.${name}`,
        expectation: `expected a HelmRelease of the platform layer: ${releases.map(({ object }) => object.metadata.name).join(', ') || 'none here'}`,
      });
      continue;
    }
    if (!isMapping(values)) problems.push({ field: `helmValues.${name}`, expectation: 'expected a mapping of chart values' });
  }
  for (const { object } of releases) {
    const spec = object.spec as Mapping;
    const settings = RELEASE_SETTINGS[object.metadata.name];
    let values = (spec.values as Mapping) ?? {};
    if (settings) {
      const placement = settings.group ? placementFor([settings.group], config) : undefined;
      const { labels, annotations } = config.metadata;
      values = mergePatch(values, settings.values({ mirrors, pullSecrets, placement, labels, annotations })) as Mapping;
    }
    const extra = config.helmValues[object.metadata.name];
    if (extra) values = mergePatch(values, extra) as Mapping;
    spec.values = values;
  }

  // 5. Common metadata.
  for (const { object } of result) {
    addMetadata(object.metadata as unknown as Mapping, config);
    for (const template of podTemplates(object)) {
      template.metadata = (template.metadata as Mapping) ?? {};
      addMetadata(template.metadata as Mapping, config);
    }
  }

  // 6. Patches.
  config.patches.forEach((patch, index) => {
    const field = `patches[${index}]`;
    const { kind, name, namespace } = patch.target;
    const matches = result.filter(
      ({ object }) =>
        object.kind === kind && object.metadata.name === name && (namespace === undefined || object.metadata.namespace === namespace),
    );
    const described = `${kind} ${namespace ? `${namespace}/` : ''}${name}`;
    if (matches.length === 0) {
      problems.push({ field: `${field}.target`, expectation: `expected an object of the output: there is no ${described}` });
      return;
    }
    if (matches.length > 1) {
      const namespaces = matches.map(({ object }) => object.metadata.namespace ?? '(cluster)').join(', ');
      problems.push({ field: `${field}.target.namespace`, expectation: `expected the namespace: ${described} is in ${namespaces}` });
      return;
    }
    const entry = matches[0] as LayerObject;
    let patched: unknown;
    try {
      patched = patch.merge !== undefined ? mergePatch(entry.object, patch.merge) : applyJsonPatch(entry.object, patch.jsonPatch ?? []);
    } catch (error) {
      if (!(error instanceof JsonPatchError)) throw error;
      problems.push({
        field: `${field}.jsonPatch[${error.index}]`,
        expectation: `expected an operation that applies to ${described}: ${error.reason}`,
      });
      return;
    }
    const object = patched as KubernetesObject;
    if (
      !isMapping(object) ||
      object.kind !== entry.object.kind ||
      object.metadata?.name !== name ||
      object.metadata?.namespace !== entry.object.metadata.namespace
    ) {
      problems.push({
        field,
        expectation: `expected a patch that keeps the kind, name and namespace of ${described} (its file is named after them)`,
      });
      return;
    }
    entry.object = object;
  });

  problems.push(...controllerRequestProblems(config));
  if (problems.length > 0) throw new ConfigurationFault(problems);
  return result;
}

/**
 * The platform controllers' pods (lib/platform/controller-workloads.ts) with what the
 * configuration gives them through their charts, for the capacity check: the placement of their
 * release's scheduling group (RELEASE_SETTINGS) and the requests of `helmValues`. The istio-cni
 * DaemonSet tolerates every taint (its chart's default).
 */
export function placedControllers(workloads: readonly WorkloadDemand[], config: EnvironmentConfig): WorkloadDemand[] {
  return workloads.map((given) => {
    const workload = withRequestsFromValues(given, config);
    if (workload.perNode) return { ...workload, placement: { tolerations: [{ operator: 'Exists' }] } };
    const release = CONTROLLER_REQUESTS[workload.name]?.[0];
    const group = release === undefined ? undefined : RELEASE_SETTINGS[release]?.group;
    const placement = group ? placementFor([group], config) : config.scheduling.default;
    const constraints = placement && {
      ...(placement.nodeSelector ? { nodeSelector: placement.nodeSelector } : {}),
      ...(placement.tolerations ? { tolerations: placement.tolerations } : {}),
      ...(nodeTerms(placement.nodeAffinity) ? { requiredNodeTerms: nodeTerms(placement.nodeAffinity) } : {}),
    };
    return constraints && Object.keys(constraints).length > 0 ? { ...workload, placement: constraints } : workload;
  });
}

/** Each platform controller's workload: its HelmRelease, and where its requests are in the chart's values. */
const CONTROLLER_REQUESTS: Readonly<Record<string, readonly [string, readonly string[]]>> = {
  istiod: ['istiod', ['resources', 'requests']],
  'istio-cni-node': ['istio-cni', ['resources', 'requests']],
  'istio-ingressgateway': ['istio-ingressgateway', ['resources', 'requests']],
  'cert-manager': ['cert-manager', ['resources', 'requests']],
  'cert-manager-webhook': ['cert-manager', ['webhook', 'resources', 'requests']],
  'cert-manager-cainjector': ['cert-manager', ['cainjector', 'resources', 'requests']],
  'trust-manager': ['trust-manager', ['resources', 'requests']],
  'cloudnative-pg': ['cloudnative-pg', ['resources', 'requests']],
  'plugin-barman-cloud': ['plugin-barman-cloud', ['resources', 'requests']],
  'keda-operator': ['keda', ['resources', 'operator', 'requests']],
  'keda-operator-metrics-apiserver': ['keda', ['resources', 'metricServer', 'requests']],
  'keda-admission-webhooks': ['keda', ['resources', 'webhooks', 'requests']],
  'external-secrets': ['external-secrets', ['resources', 'requests']],
  'external-secrets-webhook': ['external-secrets', ['webhook', 'resources', 'requests']],
  'external-secrets-cert-controller': ['external-secrets', ['certController', 'resources', 'requests']],
};

/** The requests that `helmValues` gives a controller, at its chart's path: { field, cpu?, memory? }. */
function requestsFromValues(name: string, config: EnvironmentConfig): { field: string; cpu?: unknown; memory?: unknown } | undefined {
  const location = CONTROLLER_REQUESTS[name];
  if (!location) return undefined;
  const [release, path] = location;
  const requests = path.reduce<unknown>((node, key) => (isMapping(node) ? node[key] : undefined), config.helmValues[release]);
  if (!isMapping(requests)) return undefined;
  return { field: `helmValues.${release}.${path.join('.')}`, cpu: requests.cpu, memory: requests.memory };
}

/** A chart value's request in base units when it is a Kubernetes quantity above zero. */
function requestQuantity(value: unknown): number | undefined {
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  const text = String(value);
  return isQuantity(text) && parseQuantity(text) > 0 ? parseQuantity(text) : undefined;
}

/** A controller's demand with the requests `helmValues` sets for it (the capacity check counts what runs). */
function withRequestsFromValues(workload: WorkloadDemand, config: EnvironmentConfig): WorkloadDemand {
  const given = requestsFromValues(workload.name, config);
  if (!given) return workload;
  return { ...workload, cpu: requestQuantity(given.cpu) ?? workload.cpu, memory: requestQuantity(given.memory) ?? workload.memory };
}

/** The problems of requests that `helmValues` sets for the controllers: each must be a quantity. */
function controllerRequestProblems(config: EnvironmentConfig): FieldProblem[] {
  return Object.keys(CONTROLLER_REQUESTS).flatMap((name) => {
    const given = requestsFromValues(name, config);
    if (!given) return [];
    return (['cpu', 'memory'] as const).flatMap((resource) => {
      const value = given[resource];
      if (value === undefined || requestQuantity(value) !== undefined) return [];
      return [
        {
          field: `${given.field}.${resource}`,
          expectation: `expected a Kubernetes quantity above zero, such as ${resource === 'cpu' ? '"500m"' : '"512Mi"'}, got ${JSON.stringify(value)}`,
        },
      ];
    });
  });
}

function nodeTerms(nodeAffinity: Placement['nodeAffinity']): PodPlacement['requiredNodeTerms'] {
  const required = nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution as
    | { nodeSelectorTerms?: PodPlacement['requiredNodeTerms'] }
    | undefined;
  return required?.nodeSelectorTerms && required.nodeSelectorTerms.length > 0 ? required.nodeSelectorTerms : undefined;
}
