import * as fs from 'node:fs';
import * as path from 'node:path';
import * as yaml from 'js-yaml';
import type { BuiltEnvironment } from '../lib/app/synthesize';
import { buildFromText, PROJECT_ROOT } from './helpers';

type Changes = Record<string, unknown>;

/** `base` with `changes` merged in: mappings merge, lists and scalars replace, null deletes. */
export function merge(base: Record<string, unknown>, changes: Changes): Record<string, unknown> {
  const result = { ...base };
  for (const [key, value] of Object.entries(changes)) {
    if (value === null) delete result[key];
    else if (
      typeof value === 'object' &&
      !Array.isArray(value) &&
      typeof result[key] === 'object' &&
      result[key] !== null &&
      !Array.isArray(result[key])
    ) {
      result[key] = merge(result[key] as Record<string, unknown>, value as Changes);
    } else result[key] = value;
  }
  return result;
}

/** The text of config/<environment>.yaml with `changes` merged in (a list: one after the other). */
export function variantText(environment: string, changes: Changes | readonly Changes[]): string {
  const base = yaml.load(fs.readFileSync(path.join(PROJECT_ROOT, 'config', `${environment}.yaml`), 'utf8')) as Record<string, unknown>;
  return yaml.dump(
    (Array.isArray(changes) ? changes : [changes]).reduce<Record<string, unknown>>((config, change) => merge(config, change), base),
  );
}

/** An example ACM certificate (the account id is AWS's documentation example). */
export const ACM_CERTIFICATE = 'arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789';

/** prod with CloudNativePG (VARIANTS.cloudnativePg). */
const CLOUDNATIVE_PG: Changes = {
  cluster: { memoryPerNode: '48Gi' },
  postgres: {
    provider: 'cloudnativepg',
    // CloudNativePG backs up with `backup`: prod's logical backup is for the StatefulSet.
    logicalBackup: null,
    instances: 3,
    backup: { destinationPath: 's3://prefect-backups/prod', endpointURL: 'https://s3.us-east-1.amazonaws.com' },
  },
};

/** Configuration changes that several suites build on: the providers and modes no committed environment uses. */
export const VARIANTS = {
  /** prod with CloudNativePG, three instances and backups, on nodes with room for them (three copies of prod's database). */
  cloudnativePg: CLOUDNATIVE_PG,
  /** The CloudNativePG variant recovered to a point in time from the backups of the cluster before it. */
  cloudnativePgRecovery: merge(CLOUDNATIVE_PG, {
    postgres: { backup: { serverName: 'postgres-2', recovery: { serverName: 'postgres', targetTime: '2026-11-30T14:05:00Z' } } },
  }),
  /** dev with an external PostgreSQL and two external Redis instances. */
  externalData: {
    postgres: {
      provider: 'external',
      external: { host: 'prefect.abc123.us-east-1.rds.amazonaws.com', sslMode: 'verify-full', caSecret: 'rds-ca' },
    },
    redis: {
      cache: { provider: 'external', external: { host: 'cache.abc123.use1.cache.amazonaws.com' }, resources: null },
      work: { provider: 'external', external: { host: 'work.example.com', port: 6380, tls: false }, resources: null },
    },
  },
  /** dev with External Secrets reading a Vault store. */
  externalSecrets: { secrets: { provider: 'external-secrets', store: { name: 'vault' }, remoteKeyPrefix: 'prefect/dev/' } },
  /** Single sign-on with Okta, ADFS and Entra at once, as reference/auth-methods allows. */
  everySso: {
    prefect: {
      sso: {
        okta: { clientId: '0oa2b3c4d5e6f7g8h9i0', authServerUrl: 'https://example.okta.com/oauth2/default' },
        adfs: { clientId: 'prefect-cloud', authority: 'https://adfs.example.com/adfs', verifySsl: false },
        entra: { clientId: '3f1c2b7a-5d4e-4f60-9a8b-1c2d3e4f5a6b', tenantId: '9e8d7c6b-5a49-4382-9170-6f5e4d3c2b1a' },
      },
    },
  },
  /** The output pulled from an OCI artifact, with a folder of SOPS-encrypted Secrets in it. */
  ociSops: {
    flux: { sourceRef: { kind: 'OCIRepository', name: 'prefect-prod' }, sops: { secretRef: 'sops-age', path: './secrets' } },
  },
  /** A TLS Secret of the user's instead of an issuer. */
  existingTls: [{ tls: null }, { tls: { mode: 'existing', secretName: 'prefect-wildcard' } }],
  /** staging on a mesh of the user's: no Istio, cert-manager or trust-manager installed. */
  ownMesh: {
    mesh: {
      install: false,
      installCertManager: false,
      installTrustManager: false,
      gatewaySelector: { app: 'gateway', istio: 'public' },
      gatewayServiceAccount: 'istio-ingressgateway-service-account',
    },
    namespaces: { ingress: 'gateways' },
  },
  /**
   * prod on a company's cluster: a tainted database pool, consumers on spot nodes, the gateway on
   * an ingress pool, every image through a Harbor mirror, Istio's charts from an OCI registry,
   * common metadata, more chart values and two patches.
   */
  companyCluster: {
    cluster: {
      labels: { 'example.com/pool': 'general' },
      pools: [
        {
          name: 'database',
          nodes: 2,
          cpuPerNode: '16',
          memoryPerNode: '64Gi',
          labels: { 'example.com/pool': 'database' },
          taints: [{ key: 'example.com/dedicated', value: 'database', effect: 'NoSchedule' }],
        },
        {
          name: 'spot',
          nodes: 3,
          cpuPerNode: '8',
          memoryPerNode: '32Gi',
          labels: { 'example.com/pool': 'spot' },
          taints: [{ key: 'example.com/spot', value: 'true', effect: 'NoSchedule' }],
        },
        { name: 'ingress', nodes: 2, cpuPerNode: '4', memoryPerNode: '8Gi', labels: { 'example.com/pool': 'ingress' } },
        { name: 'system', nodes: 2, cpuPerNode: '4', memoryPerNode: '16Gi', labels: { 'example.com/pool': 'system' } },
      ],
    },
    scheduling: {
      default: { tolerations: [{ key: 'example.com/managed', operator: 'Exists', effect: 'NoSchedule' }] },
      workloads: {
        postgres: {
          nodeSelector: { 'example.com/pool': 'database' },
          tolerations: [{ key: 'example.com/dedicated', value: 'database', effect: 'NoSchedule' }],
        },
        redis: {
          nodeSelector: { 'example.com/pool': 'database' },
          tolerations: [{ key: 'example.com/dedicated', value: 'database', effect: 'NoSchedule' }],
        },
        'type:consumer': {
          nodeSelector: { 'example.com/pool': 'spot' },
          tolerations: [{ key: 'example.com/spot', operator: 'Exists', effect: 'NoSchedule' }],
        },
        server: {
          nodeAffinity: {
            preferredDuringSchedulingIgnoredDuringExecution: [
              { weight: 50, preference: { matchExpressions: [{ key: 'example.com/pool', operator: 'In', values: ['general'] }] } },
            ],
          },
          topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway' }],
        },
        gateway: { nodeSelector: { 'example.com/pool': 'ingress' } },
        'cert-manager': { nodeSelector: { 'example.com/pool': 'system' } },
        migrations: { nodeSelector: { 'example.com/pool': 'general' } },
      },
    },
    images: {
      mirrors: {
        'docker.io': 'harbor.example.com/dockerhub',
        'quay.io': 'harbor.example.com/quay',
        'registry.k8s.io': 'harbor.example.com/k8s',
      },
      pullSecrets: ['harbor-pull'],
    },
    charts: {
      istio: { url: 'oci://harbor.example.com/charts/istio', secretRef: 'harbor-charts' },
      jetstack: { url: 'https://artifactory.example.com/artifactory/api/helm/jetstack' },
    },
    metadata: { labels: { 'example.com/cost-center': 'cc-1234' }, annotations: { 'example.com/team': 'platform' } },
    helmValues: {
      istiod: { env: { PILOT_ENABLE_STATUS: 'true' } },
      'istio-ingressgateway': { podAnnotations: { 'example.com/owner': 'edge' } },
    },
    patches: [
      {
        target: { kind: 'Deployment', namespace: 'prefect', name: 'server' },
        merge: { spec: { template: { metadata: { annotations: { 'example.com/patched': 'merge' } } } } },
      },
      {
        target: { kind: 'Service', namespace: 'prefect', name: 'ui' },
        jsonPatch: [{ op: 'add', path: '/metadata/annotations/example.com~1patched', value: 'json' }],
      },
    ],
  },
} satisfies Record<string, Changes | readonly Changes[]>;

/** Builds a variant of a committed environment in memory. */
export function buildVariant(environment: string, changes: Changes | readonly Changes[]): BuiltEnvironment {
  return buildFromText(variantText(environment, changes), environment);
}
