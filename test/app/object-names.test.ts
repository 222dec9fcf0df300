import { describe, expect, it } from 'vitest';
import { LAYERS, type Layer } from '../../lib/flux/layers';
import { build, ENVIRONMENTS } from '../helpers';

/*
 * Names are a contract: a rename is a delete and a create in the cluster, and loses a
 * StatefulSet's volumes. These lists change only on purpose, in a reviewed commit.
 * Entries are "<Kind> <namespace or -> /<name>", with <env> for the environment's name.
 */
type Pinned = Record<Layer, readonly string[]>;

const COMMON: Pinned = {
  platform: [
    'Namespace -/cert-manager',
    'Namespace -/istio-ingress',
    'Namespace -/istio-system',
    'Namespace -/prefect',
    'Namespace -/prefect-data',
    // Closed unless a workload's own policy opens it.
    'NetworkPolicy prefect/default-deny',
    'NetworkPolicy prefect-data/default-deny',
    'HelmRepository flux-system/istio',
    'HelmRepository flux-system/jetstack',
    'HelmRelease flux-system/istio-base',
    'HelmRelease flux-system/istiod',
    'HelmRelease flux-system/istio-cni',
    'HelmRelease flux-system/istio-ingressgateway',
    'HelmRelease flux-system/cert-manager',
    'HelmRelease flux-system/trust-manager',
    // Scheduling tiers: the control plane, then the data tier, then the services (lib/platform/priority-classes.ts).
    'PriorityClass -/prefect-platform',
    'PriorityClass -/prefect-data',
    'PriorityClass -/prefect-services',
  ],
  edge: [
    'Certificate istio-ingress/prefect-tls',
    'Gateway istio-ingress/prefect',
    'Gateway istio-ingress/prefect-http-redirect',
    'VirtualService istio-ingress/prefect-api',
    'VirtualService istio-ingress/prefect-app',
    ...['auth', 'events', 'nebula', 'server', 'ui'].map((service) => `DestinationRule prefect/${service}`),
    'PeerAuthentication prefect/default',
    'PeerAuthentication prefect-data/default',
    'AuthorizationPolicy prefect/deny-all',
    'AuthorizationPolicy prefect-data/deny-all',
  ],
  // PostgreSQL (StatefulSet), its init Jobs (named "<base>-<hash of the pod template>"), and the
  // three Redis instances; no Secret objects with secrets.provider "existing".
  data: [
    'ServiceAccount prefect-data/postgres',
    'ConfigMap prefect-data/postgres-config',
    'Service prefect-data/postgres',
    'Service prefect-data/postgres-headless',
    'StatefulSet prefect-data/postgres',
    'NetworkPolicy prefect-data/postgres',
    'AuthorizationPolicy prefect-data/postgres',
    ...['events', 'nebula', 'orion'].flatMap((database) => [
      `ServiceAccount prefect-data/postgres-init-${database}`,
      `Job prefect-data/postgres-init-${database}-<hash>`,
      `NetworkPolicy prefect-data/postgres-init-${database}`,
    ]),
    ...['cache', 'work', 'streams'].flatMap((instance) => [
      `ServiceAccount prefect-data/redis-${instance}`,
      `ConfigMap prefect-data/redis-${instance}-config`,
      `Service prefect-data/redis-${instance}`,
      `NetworkPolicy prefect-data/redis-${instance}`,
      `AuthorizationPolicy prefect-data/redis-${instance}`,
      ...(instance === 'cache'
        ? ['Deployment prefect-data/redis-cache']
        : [`StatefulSet prefect-data/redis-${instance}`, `Service prefect-data/redis-${instance}-headless`]),
    ]),
  ],
  // One migration Job per database, in the data namespace (the superuser Secret stays there).
  migrations: [
    ...['events', 'nebula', 'orion'].flatMap((database) => [
      `ServiceAccount prefect-data/migrate-${database}`,
      `Job prefect-data/migrate-${database}-<hash>`,
      `NetworkPolicy prefect-data/migrate-${database}`,
    ]),
    // Deletes earlier releases' migration Jobs once this release's have succeeded.
    'ServiceAccount prefect-data/migrations-cleanup',
    'Role prefect-data/migrations-cleanup',
    'RoleBinding prefect-data/migrations-cleanup',
    'Job prefect-data/migrations-cleanup-<hash>',
    'NetworkPolicy prefect-data/migrations-cleanup',
  ],
  // One set per catalog service; web services add a Service and the in-namespace allow, loop
  // services (triggers-proactive) run as a StatefulSet with its headless Service, without HPA or PDB.
  prefect: [
    ...[
      'ui',
      'auth',
      'nebula',
      'server',
      'events',
      'server-background',
      'work-pools',
      'actions',
      'ladler',
      'triggers-reactive',
      'triggers-proactive',
    ].flatMap((service) => [
      `ServiceAccount prefect/${service}`,
      `NetworkPolicy prefect/${service}`,
      ...(service === 'triggers-proactive'
        ? [`StatefulSet prefect/${service}`, `Service prefect/${service}-headless`]
        : [`Deployment prefect/${service}`, `HorizontalPodAutoscaler prefect/${service}`, `PodDisruptionBudget prefect/${service}`]),
    ]),
    ...['ui', 'auth', 'nebula', 'server', 'events'].flatMap((service) => [
      `Service prefect/${service}`,
      `AuthorizationPolicy prefect/${service}-callers`,
    ]),
  ],
  flux: [
    // The environment is in the name: two environments' Kustomizations live side by side.
    'Kustomization flux-system/prefect-<env>-data',
    'Kustomization flux-system/prefect-<env>-edge',
    'Kustomization flux-system/prefect-<env>-migrations',
    'Kustomization flux-system/prefect-<env>-platform',
    'Kustomization flux-system/prefect-<env>-prefect',
  ],
  // Only with monitoring.enabled (prod).
  monitoring: [],
};

/** Per environment: the common names plus what differs (TLS mode, providers). */
const PINNED: Record<(typeof ENVIRONMENTS)[number], Pinned> = {
  // selfsigned: a root issuer, the CA certificate, the CA issuer and the CA bundle.
  dev: {
    ...COMMON,
    edge: [
      ...COMMON.edge,
      'ClusterIssuer -/prefect-selfsigned',
      'Certificate cert-manager/prefect-root-ca',
      'ClusterIssuer -/prefect-ca',
      'Bundle -/prefect-ca-bundle',
    ],
  },
  // letsencrypt-staging over HTTP-01: Istio's IngressClass for the solver, and the redirect that spares it.
  staging: {
    ...COMMON,
    platform: [...COMMON.platform, 'IngressClass -/istio'],
    edge: [...COMMON.edge, 'ClusterIssuer -/prefect-letsencrypt-staging', 'VirtualService istio-ingress/prefect-http-redirect'],
  },
  // letsencrypt over DNS-01; postgres.logicalBackup: the CronJob, its volume, its identity and its NetworkPolicy.
  prod: {
    ...COMMON,
    edge: [...COMMON.edge, 'ClusterIssuer -/prefect-letsencrypt'],
    data: [
      ...COMMON.data,
      'PersistentVolumeClaim prefect-data/postgres-backup',
      'CronJob prefect-data/postgres-backup',
      'ServiceAccount prefect-data/postgres-backup',
      'NetworkPolicy prefect-data/postgres-backup',
    ],
    flux: [...COMMON.flux, 'Kustomization flux-system/prefect-<env>-monitoring'],
    // monitoring.enabled: the scrape targets, Prometheus's way in, the alerts.
    monitoring: [
      'PodMonitor prefect/mesh-pods',
      'PodMonitor prefect-data/mesh-pods',
      'PodMonitor istio-ingress/mesh-pods',
      'ServiceMonitor istio-system/istiod',
      'NetworkPolicy prefect/prometheus-scrape',
      'NetworkPolicy prefect-data/prometheus-scrape',
      'PrometheusRule prefect/prefect-alerts',
    ],
  },
};

describe.each(ENVIRONMENTS)('object names in %s', (environment) => {
  const rendered = build(environment);
  it.each(LAYERS.map((layer) => [layer]))('are pinned in the %s layer', (layer) => {
    // A Job's name ends in a hash of its pod template (it changes with the template, on purpose).
    const names = rendered.objects
      .filter((object) => object.layer === layer)
      .map(
        ({ object }) =>
          `${object.kind} ${object.metadata.namespace ?? '-'}/${object.kind === 'Job' ? object.metadata.name.replace(/-[0-9a-f]{10}$/, '-<hash>') : object.metadata.name}`,
      );
    expect(names.sort()).toEqual(PINNED[environment][layer].map((name) => name.replace('<env>', environment)).sort());
  });
});
