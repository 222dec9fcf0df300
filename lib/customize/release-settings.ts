/*
 * Where each platform chart takes image registries, pull secrets and scheduling, as values (read
 * from the charts' values.yaml at the versions this project pins: istio 1.30 (istiod, istio-cni,
 * gateway), cert-manager v1.21, trust-manager v0.24, cloudnative-pg 0.29, plugin-barman-cloud 0.7,
 * external-secrets 2.9).
 * Their images and the registries they come from are the charts' defaults.
 */
import type { Placement } from '../config/company-schema';
import { mirrored } from './mirrors';

type Mapping = Record<string, unknown>;

export interface ReleaseContext {
  readonly mirrors: Readonly<Record<string, string>>;
  readonly pullSecrets: readonly string[];
  /** The release's merged placement, when scheduling names its group or sets a default. */
  readonly placement?: Placement;
  /** `metadata.labels` and `metadata.annotations`, for the charts that put common ones on what they create. */
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

export interface ReleaseSettings {
  /** The scheduling group (config `scheduling.workloads`) of the release's pods; none for a DaemonSet on every node. */
  readonly group?: string;
  /** Values merged over the generated ones (before `helmValues`). */
  values(context: ReleaseContext): Mapping;
}

/** A chart's scheduling keys at `prefix` (nodeSelector, tolerations, affinity.nodeAffinity, topologySpreadConstraints). */
function scheduling(placement: Placement | undefined): Mapping {
  if (!placement) return {};
  return {
    ...(placement.nodeSelector ? { nodeSelector: placement.nodeSelector } : {}),
    ...(placement.tolerations ? { tolerations: placement.tolerations } : {}),
    ...(placement.nodeAffinity ? { affinity: { nodeAffinity: placement.nodeAffinity } } : {}),
    ...(placement.topologySpreadConstraints ? { topologySpreadConstraints: placement.topologySpreadConstraints } : {}),
  };
}

const named = (secrets: readonly string[]) => secrets.map((name) => ({ name }));

/** An image reference as the charts that take them apart want it: registry (its first part) and repository. */
function registryAndRepository(reference: string): { registry: string; repository: string } {
  const slash = reference.indexOf('/');
  return { registry: reference.slice(0, slash), repository: reference.slice(slash + 1) };
}
const when = (condition: boolean, values: Mapping): Mapping => (condition ? values : {});

/** Istio's images are docker.io/istio/… (the released charts' `global.hub`); pull secrets by name. */
function istioGlobal({ mirrors, pullSecrets }: ReleaseContext): Mapping {
  const hub = mirrored('docker.io/istio', mirrors);
  const global = {
    ...when(hub !== 'docker.io/istio', { hub }),
    ...when(pullSecrets.length > 0, { imagePullSecrets: [...pullSecrets] }),
  };
  return when(Object.keys(global).length > 0, { global });
}

/** A `registry/namespace` pair of a chart that names its registry apart (cert-manager's `imageRegistry`). */
function registryOf(host: string, mirrors: Readonly<Record<string, string>>): Mapping {
  const mirror = mirrors[host];
  return when(mirror !== undefined, { imageRegistry: mirror });
}

export const RELEASE_SETTINGS: Readonly<Record<string, ReleaseSettings>> = {
  istiod: {
    group: 'istiod',
    values: (context) => ({ ...istioGlobal(context), ...scheduling(context.placement) }),
  },
  // A DaemonSet that must run on every node (it tolerates every taint): images only.
  'istio-cni': { values: (context) => istioGlobal(context) },
  'istio-ingressgateway': {
    group: 'gateway',
    // The gateway's image is injected by istiod (from istiod's hub); its pods need the pull secret.
    values: ({ pullSecrets, placement }) => ({
      ...when(pullSecrets.length > 0, { imagePullSecrets: named(pullSecrets) }),
      ...scheduling(placement),
    }),
  },
  'cert-manager': {
    group: 'cert-manager',
    values: ({ mirrors, pullSecrets, placement, labels }) => {
      const placed = scheduling(placement);
      const global = {
        ...when(pullSecrets.length > 0, { imagePullSecrets: named(pullSecrets) }),
        ...when(Object.keys(labels).length > 0, { commonLabels: labels }),
      };
      return {
        ...registryOf('quay.io', mirrors),
        ...when(Object.keys(global).length > 0, { global }),
        ...placed,
        ...when(Object.keys(placed).length > 0, { webhook: placed, cainjector: placed, startupapicheck: placed }),
      };
    },
  },
  'trust-manager': {
    group: 'trust-manager',
    values: ({ mirrors, pullSecrets, placement, labels, annotations }) => ({
      ...registryOf('quay.io', mirrors),
      ...when(pullSecrets.length > 0, { imagePullSecrets: named(pullSecrets) }),
      ...when(Object.keys(labels).length > 0, { commonLabels: labels }),
      ...when(Object.keys(annotations).length > 0, { commonAnnotations: annotations }),
      ...scheduling(placement),
    }),
  },
  'cloudnative-pg': {
    group: 'cloudnative-pg',
    values: ({ mirrors, pullSecrets, placement, annotations }) => {
      const repository = mirrored('ghcr.io/cloudnative-pg/cloudnative-pg', mirrors);
      return {
        ...when(repository !== 'ghcr.io/cloudnative-pg/cloudnative-pg', { image: { repository } }),
        ...when(Object.keys(annotations).length > 0, { commonAnnotations: annotations }),
        ...when(pullSecrets.length > 0, { imagePullSecrets: named(pullSecrets) }),
        ...scheduling(placement),
      };
    },
  },
  // Its images as registry and repository, for the plugin and for the sidecar it adds to every
  // PostgreSQL instance (plugin-barman-cloud 0.7.0).
  'plugin-barman-cloud': {
    group: 'cloudnative-pg',
    values: ({ mirrors, pullSecrets, placement, annotations }) => {
      const split = (image: string) => registryAndRepository(mirrored(image, mirrors));
      const mirroredAway = mirrored('ghcr.io/cloudnative-pg/plugin-barman-cloud', mirrors) !== 'ghcr.io/cloudnative-pg/plugin-barman-cloud';
      return {
        ...when(mirroredAway, {
          image: split('ghcr.io/cloudnative-pg/plugin-barman-cloud'),
          sidecarImage: split('ghcr.io/cloudnative-pg/plugin-barman-cloud-sidecar'),
        }),
        ...when(Object.keys(annotations).length > 0, { commonAnnotations: annotations }),
        ...when(pullSecrets.length > 0, { imagePullSecrets: named(pullSecrets) }),
        ...scheduling(placement),
      };
    },
  },
  // Its three images as registry and repository, pull secrets, and its pods' scheduling (keda 2.20.2).
  keda: {
    group: 'keda',
    values: ({ mirrors, pullSecrets, placement }) => {
      const split = (image: string) => registryAndRepository(mirrored(image, mirrors));
      const mirroredAway = mirrored('ghcr.io/kedacore/keda', mirrors) !== 'ghcr.io/kedacore/keda';
      return {
        ...when(mirroredAway, {
          image: {
            keda: split('ghcr.io/kedacore/keda'),
            metricsApiServer: split('ghcr.io/kedacore/keda-metrics-apiserver'),
            webhooks: split('ghcr.io/kedacore/keda-admission-webhooks'),
          },
        }),
        ...when(pullSecrets.length > 0, { imagePullSecrets: named(pullSecrets) }),
        ...scheduling(placement),
      };
    },
  },
  'external-secrets': {
    group: 'external-secrets',
    values: ({ mirrors, pullSecrets, placement, labels }) => {
      const repository = mirrored('ghcr.io/external-secrets/external-secrets', mirrors);
      const image = { image: { repository } };
      const global = { ...when(pullSecrets.length > 0, { imagePullSecrets: named(pullSecrets) }), ...scheduling(placement) };
      return {
        ...when(repository !== 'ghcr.io/external-secrets/external-secrets', { ...image, webhook: image, certController: image }),
        ...when(Object.keys(global).length > 0, { global }),
        ...when(Object.keys(labels).length > 0, { commonLabels: labels }),
      };
    },
  },
};
