import * as fs from 'node:fs';
import * as path from 'node:path';
import * as yaml from 'js-yaml';
import type { RenderedEnvironment } from '../lib/output/render';
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

/** Configuration changes that several suites build on: the providers and modes no committed environment uses. */
export const VARIANTS = {
  /** prod with CloudNativePG, three instances and backups. */
  cloudnativePg: {
    postgres: {
      provider: 'cloudnativepg',
      instances: 3,
      backup: { destinationPath: 's3://prefect-backups/prod', endpointURL: 'https://s3.us-east-1.amazonaws.com' },
    },
  },
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
} satisfies Record<string, Changes | readonly Changes[]>;

/** Builds a variant of a committed environment in memory. */
export function buildVariant(environment: string, changes: Changes | readonly Changes[]): RenderedEnvironment {
  return buildFromText(variantText(environment, changes), environment);
}
