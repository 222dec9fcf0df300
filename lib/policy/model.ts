/*
 * What the policy checks read: Kubernetes objects as plain JSON (as parsed from dist/), the pod
 * template inside each workload, label selectors, quantities. Objects come from files, so every
 * field is read defensively: a missing field is "unset", never an exception.
 */
import { parseQuantity } from '../core/quantity';
import { POD_TEMPLATE_PATHS } from '../core/kubernetes-object';

/** A Kubernetes object as plain JSON (structurally the same as lib/output/render's KubernetesObject). */
export interface PolicyObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly annotations?: Readonly<Record<string, string>>;
  };
  readonly [field: string]: unknown;
}

export type Json = Record<string, unknown>;

export interface LabelSelectorRequirement {
  readonly key: string;
  readonly operator: string;
  readonly values?: readonly string[];
}

export interface LabelSelector {
  readonly matchLabels?: Readonly<Record<string, string>>;
  readonly matchExpressions?: readonly LabelSelectorRequirement[];
}

export interface Capabilities {
  readonly add?: readonly string[];
  readonly drop?: readonly string[];
}

export interface SecurityContext {
  readonly privileged?: boolean;
  readonly allowPrivilegeEscalation?: boolean;
  readonly readOnlyRootFilesystem?: boolean;
  readonly runAsNonRoot?: boolean;
  readonly runAsUser?: number;
  readonly runAsGroup?: number;
  readonly capabilities?: Capabilities;
  readonly seccompProfile?: { readonly type?: string; readonly localhostProfile?: string };
  readonly appArmorProfile?: { readonly type?: string };
  readonly seLinuxOptions?: { readonly type?: string; readonly user?: string; readonly role?: string; readonly level?: string };
  readonly windowsOptions?: { readonly hostProcess?: boolean };
  readonly procMount?: string;
  readonly sysctls?: ReadonlyArray<{ readonly name: string; readonly value?: string }>;
}

export interface Probe {
  readonly httpGet?: { readonly port?: number | string };
  readonly tcpSocket?: { readonly port?: number | string };
  readonly grpc?: { readonly port?: number };
  readonly exec?: unknown;
}

export interface ContainerPort {
  readonly name?: string;
  readonly containerPort?: number;
  readonly hostPort?: number;
  readonly protocol?: string;
}

export interface EnvVar {
  readonly name: string;
  readonly value?: string;
  readonly valueFrom?: unknown;
}

export interface Container {
  readonly name: string;
  readonly image?: string;
  readonly imagePullPolicy?: string;
  readonly ports?: readonly ContainerPort[];
  readonly env?: readonly EnvVar[];
  readonly resources?: {
    readonly requests?: Readonly<Record<string, string | number>>;
    readonly limits?: Readonly<Record<string, string | number>>;
  };
  readonly securityContext?: SecurityContext;
  readonly livenessProbe?: Probe | null;
  readonly readinessProbe?: Probe | null;
  readonly startupProbe?: Probe | null;
  readonly volumeMounts?: ReadonlyArray<{ readonly name: string; readonly mountPath?: string }>;
  readonly restartPolicy?: string;
}

export interface Volume {
  readonly name: string;
  readonly hostPath?: { readonly path?: string };
  readonly [source: string]: unknown;
}

export interface PodSpec {
  readonly containers?: readonly Container[];
  readonly initContainers?: readonly Container[];
  readonly ephemeralContainers?: readonly Container[];
  readonly volumes?: readonly Volume[];
  readonly securityContext?: SecurityContext;
  readonly hostNetwork?: boolean;
  readonly hostPID?: boolean;
  readonly hostIPC?: boolean;
  readonly serviceAccountName?: string;
  /** Deprecated alias of serviceAccountName. */
  readonly serviceAccount?: string;
  readonly automountServiceAccountToken?: boolean;
  readonly affinity?: {
    readonly podAntiAffinity?: {
      readonly requiredDuringSchedulingIgnoredDuringExecution?: readonly PodAffinityTerm[];
      readonly preferredDuringSchedulingIgnoredDuringExecution?: ReadonlyArray<{
        readonly weight?: number;
        readonly podAffinityTerm: PodAffinityTerm;
      }>;
    };
  };
  readonly topologySpreadConstraints?: ReadonlyArray<{ readonly topologyKey?: string; readonly [field: string]: unknown }>;
  readonly restartPolicy?: string;
  readonly [field: string]: unknown;
}

export interface PodAffinityTerm {
  readonly labelSelector?: LabelSelector;
  readonly namespaces?: readonly string[];
  readonly topologyKey?: string;
}

/** The pods a workload creates, as its manifest describes them. */
export interface PodTemplate {
  /** The object holding the template (or the Pod itself). */
  readonly owner: PolicyObject;
  /** The namespace the pods run in: the owner's. */
  readonly namespace: string | undefined;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly spec: PodSpec;
  /** Where the pod spec sits in the owner, for messages, e.g. "spec.template.spec". */
  readonly specPath: string;
}

/** Kinds whose spec.replicas kube-linter's and Polaris's replica checks read. */
export const REPLICATED_KINDS: ReadonlySet<string> = new Set(['Deployment', 'StatefulSet', 'ReplicaSet', 'ReplicationController']);
export const JOB_KINDS: ReadonlySet<string> = new Set(['Job', 'CronJob']);

export function isCoreKind(object: PolicyObject, group: string, kind: string): boolean {
  const slash = object.apiVersion.indexOf('/');
  const objectGroup = slash < 0 ? '' : object.apiVersion.slice(0, slash);
  return object.kind === kind && objectGroup === group;
}

/** The object holds a pod template (or is a Pod). */
export function hasPods(object: PolicyObject): boolean {
  return podTemplateOf(object) !== undefined;
}

const templateCache = new WeakMap<PolicyObject, PodTemplate | null>();

export function podTemplateOf(object: PolicyObject): PodTemplate | undefined {
  const cached = templateCache.get(object);
  if (cached !== undefined) return cached ?? undefined;
  const template = extractPodTemplate(object);
  templateCache.set(object, template ?? null);
  return template;
}

function extractPodTemplate(object: PolicyObject): PodTemplate | undefined {
  const namespace = object.metadata?.namespace;
  if (object.kind === 'Pod' && object.apiVersion === 'v1') {
    const spec = asRecord(object.spec) as PodSpec | undefined;
    if (!spec) return undefined;
    return {
      owner: object,
      namespace,
      labels: object.metadata.labels ?? {},
      annotations: object.metadata.annotations ?? {},
      spec,
      specPath: 'spec',
    };
  }
  const path = POD_TEMPLATE_PATHS[object.kind];
  if (!path || !/^(apps|batch|extensions)\/|^v1$/.test(object.apiVersion)) return undefined;
  const template = asRecord(dig(object, path));
  const spec = asRecord(template?.spec) as PodSpec | undefined;
  if (!template || !spec) return undefined;
  const metadata = asRecord(template.metadata) ?? {};
  return {
    owner: object,
    namespace,
    labels: (asRecord(metadata.labels) as Record<string, string> | undefined) ?? {},
    annotations: (asRecord(metadata.annotations) as Record<string, string> | undefined) ?? {},
    spec,
    specPath: `${path.join('.')}.spec`,
  };
}

export type ContainerKind = 'container' | 'initContainer' | 'ephemeralContainer';

export interface ContainerEntry {
  readonly container: Container;
  readonly kind: ContainerKind;
  /** e.g. `spec.template.spec.containers[0]` */
  readonly path: string;
}

/**
 * The containers of a pod. kube-linter's "all containers" are init and regular containers.
 */
export function containersOf(template: PodTemplate, kinds: readonly ContainerKind[] = ['initContainer', 'container']): ContainerEntry[] {
  const entries: ContainerEntry[] = [];
  const fields: Record<ContainerKind, 'containers' | 'initContainers' | 'ephemeralContainers'> = {
    container: 'containers',
    initContainer: 'initContainers',
    ephemeralContainer: 'ephemeralContainers',
  };
  for (const kind of kinds) {
    const list = template.spec[fields[kind]];
    if (!Array.isArray(list)) continue;
    for (const [index, container] of (list as Container[]).entries()) {
      entries.push({ container, kind, path: `${template.specPath}.${fields[kind]}[${index}]` });
    }
  }
  return entries;
}

export function dig(value: unknown, path: readonly string[]): unknown {
  let node = value;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Json)[key];
  }
  return node;
}

export function asRecord(value: unknown): Json | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : undefined;
}

export function asArray<T = unknown>(value: unknown): T[] {
  return Array.isArray(value) ? (value as T[]) : [];
}

/**
 * Kubernetes label-selector semantics (apimachinery `LabelSelectorAsSelector`): an absent
 * selector selects nothing, an empty one selects everything; all requirements must hold.
 */
export function selectorMatches(selector: LabelSelector | undefined | null, labels: Readonly<Record<string, string>>): boolean {
  if (selector === undefined || selector === null) return false;
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[key] !== value) return false;
  }
  for (const requirement of selector.matchExpressions ?? []) {
    const present = Object.hasOwn(labels, requirement.key);
    const values = requirement.values ?? [];
    switch (requirement.operator) {
      case 'In':
        if (!present || !values.includes(labels[requirement.key] as string)) return false;
        break;
      case 'NotIn':
        if (present && values.includes(labels[requirement.key] as string)) return false;
        break;
      case 'Exists':
        if (!present) return false;
        break;
      case 'DoesNotExist':
        if (present) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/** A Service-style selector (a plain map): it selects the labels that contain every pair. */
export function mapSelectorMatches(selector: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>>): boolean {
  return Object.entries(selector).every(([key, value]) => labels[key] === value);
}

export function formatSelector(selector: LabelSelector | Readonly<Record<string, string>> | undefined): string {
  if (!selector) return '<none>';
  const asSelector = selector as LabelSelector;
  const isLabelSelector = 'matchLabels' in selector || 'matchExpressions' in selector;
  const matchLabels = isLabelSelector ? (asSelector.matchLabels ?? {}) : (selector as Record<string, string>);
  const parts = Object.entries(matchLabels).map(([key, value]) => `${key}=${value}`);
  for (const requirement of isLabelSelector ? (asSelector.matchExpressions ?? []) : []) {
    parts.push(`${requirement.key} ${requirement.operator}${requirement.values ? ` (${requirement.values.join(',')})` : ''}`);
  }
  return parts.length > 0 ? parts.join(',') : '<everything>';
}

/** The quantity in base units; undefined when unset, NaN when unreadable. */
export function quantityValue(value: string | number | undefined): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  try {
    return parseQuantity(value);
  } catch {
    return Number.NaN;
  }
}

/** An int-or-percent ("25%" or 3): the number and whether it is a percentage; undefined when unreadable. */
export function intOrPercent(value: unknown): { readonly value: number; readonly percent: boolean } | undefined {
  if (typeof value === 'number' && Number.isInteger(value)) return { value, percent: false };
  if (typeof value !== 'string') return undefined;
  const match = /^(\d+)(%?)$/.exec(value.trim());
  if (!match) return undefined;
  return { value: Number(match[1]), percent: match[2] === '%' };
}

/** `Kind namespace/name` (or `Kind name` for cluster-scoped objects). */
export function describe(object: PolicyObject): string {
  const namespace = object.metadata?.namespace;
  return `${object.kind} ${namespace ? `${namespace}/` : ''}${object.metadata?.name ?? '<unnamed>'}`;
}

/** The pod template of an object the check applies to (checks run only on kinds with pods). */
export function template(object: PolicyObject): PodTemplate {
  return podTemplateOf(object) as PodTemplate;
}
