/*
 * The Prefect section of the configuration: the image, the catalog overrides, outbound traffic.
 */
import { z } from 'zod';
import { DATABASES, PREFECT_IMAGES, REDIS_ROLES, SERVICE_TYPES } from '../catalog/services';
import { isNetworkCidr, strictlyContains } from '../core/cidr';
import { dnsLabel, duration, imageTag, networkCidr, objectName, resources } from './fields';
import { anyCase, need } from './json-rules';
import { durationMilliseconds } from '../core/duration';

/** The default deadline of each database's migration: room for Prefect's 30-minute-plus migrations. */
export const MIGRATION_DEADLINE = '1h';

/** Outbound TCP to a range outside the cluster (lib/catalog/services.ts, EgressDestination). */
const egressDestination = z
  .strictObject({
    cidr: networkCidr.describe('The destination range, e.g. "0.0.0.0/0" for every address.'),
    except: z
      .array(networkCidr)
      .optional()
      .describe("Omit for the cluster's private ranges inside `cidr` (cluster.privateRanges); [] for none."),
    ports: z.array(z.int().min(1).max(65535)).min(1, { error: 'expected at least one port' }).describe('The TCP ports allowed there.'),
  })
  .superRefine((destination, context) => {
    (destination.except ?? []).forEach((range, index) => {
      if (isNetworkCidr(range) && isNetworkCidr(destination.cidr) && !strictlyContains(destination.cidr, range)) {
        context.addIssue({
          code: 'custom',
          path: ['except', index],
          message: `expected a range strictly inside cidr ${destination.cidr} (a NetworkPolicy rejects any other)`,
        });
      }
    });
  });

/** A key of a Secret in the namespace of the pod that reads it: `{ secret: <name>, key: <key> }`. */
export const secretKeyReference = z.strictObject({
  secret: objectName.describe("The Secret's name, in the namespace of the pod that reads it."),
  key: z
    .string()
    .regex(/^[-._a-zA-Z0-9]{1,253}$/, { error: 'expected a Secret key: letters, digits, "-", "_" and ".", such as "client-secret"' })
    .describe('The key inside the Secret.'),
});
export type SecretKeyReference = z.infer<typeof secretKeyReference>;

/** Words of a variable's name (split at "_") that mark its value as secret. */
export const SECRET_WORDS = [
  'PASSWORD',
  'PASSWD',
  'PASS',
  'PWD',
  'SECRET',
  'SECRETS',
  'TOKEN',
  'TOKENS',
  'KEY',
  'KEYS',
  'APIKEY',
  'CREDENTIAL',
  'CREDENTIALS',
  'PRIVATE',
];
const SECRET_WORD = new RegExp(`^(?:${SECRET_WORDS.join('|')})$`);
/** Last words that name something about a secret rather than the secret: `…_KEY_FILE`, `…_TOKEN_TTL_SECONDS`. */
export const NOT_THE_SECRET = [
  'FILE',
  'PATH',
  'DIR',
  'URL',
  'URI',
  'ENDPOINT',
  'SECONDS',
  'MINUTES',
  'HOURS',
  'TTL',
  'EXPIRY',
  'EXPIRATION',
  'LENGTH',
  'SIZE',
  'NAME',
  'ID',
  'ENABLED',
  'HEADER',
  'PREFIX',
  'ALGORITHM',
  'TYPE',
];

/**
 * A name, split into words at "_", with a secret word among them and not ending in a word about a
 * secret. `word` writes each word as a pattern: as it is, for a name in upper case, or in any case
 * for JSON Schema, whose patterns take no flags.
 */
function secretNamePattern(word: (word: string) => string): string {
  const words = (list: readonly string[]) => `(?:${list.map(word).join('|')})`;
  return `^(?!(?:[\\s\\S]*_)?${words(NOT_THE_SECRET)}_*$)(?=(?:[\\s\\S]*_)?${words(SECRET_WORDS)}(?:_[\\s\\S]*)?$)`;
}
const SECRET_NAME = new RegExp(secretNamePattern((word) => word));
/** A variable name that says its value is secret, as a JSON Schema pattern. */
const SECRET_NAME_PATTERN = secretNamePattern(anyCase);

/**
 * Whether a configuration field's name (camelCase, e.g. `accessKeySecret`, `caSecret`) holds a
 * secret or names one: its value is never echoed in a message, in case a secret was put there.
 */
export function namesSecret(field: string): boolean {
  const words = field
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toUpperCase()
    .split(/[_\W]+/)
    .filter(Boolean);
  return words.some((word) => SECRET_WORD.test(word));
}

/** A URL that carries a password: `scheme://user:password@host` (a JSON Schema pattern, so no flags). */
const URL_WITH_PASSWORD_PATTERN = '^[A-Za-z][A-Za-z0-9+.-]*://[^/@\\s]*:[^/@\\s]+@';
const URL_WITH_PASSWORD = new RegExp(URL_WITH_PASSWORD_PATTERN);

/** Whether an environment variable's name says its value is secret (a password, token, key …). */
export function looksSecret(name: string): boolean {
  return SECRET_NAME.test(name.toUpperCase());
}

/**
 * Environment variables: a literal string, or a Secret's key (rendered as `valueFrom.secretKeyRef`,
 * or with secrets.provider "external-secrets" an ExternalSecret of that name). A literal under a
 * name that looks secret is refused, without printing it: it would be committed to Git.
 */
export const environmentVariables = z
  .record(
    z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'expected an environment variable name such as "PREFECT_LOGGING_LEVEL"' }),
    z.union([z.string(), secretKeyReference], {
      error: 'expected a string, or a Secret key as { secret: <Secret name>, key: <key> }',
    }),
  )
  .superRefine((variables, context) => {
    for (const [name, value] of Object.entries(variables)) {
      if (typeof value !== 'string') continue;
      const reason = looksSecret(name)
        ? 'the name says the value is secret'
        : URL_WITH_PASSWORD.test(value)
          ? 'the value is a URL with a password in it'
          : undefined;
      if (reason) {
        context.addIssue({
          code: 'custom',
          path: [name],
          params: { redact: true },
          message: `expected a Secret key, ${name}: { secret: <Secret name>, key: <key> }, not a literal: ${reason}, and a literal would be committed to Git (the value is not shown)`,
        });
      }
    }
  })
  .meta({
    allOf: [
      { type: 'object', patternProperties: { [SECRET_NAME_PATTERN]: { type: 'object' } } },
      {
        type: 'object',
        additionalProperties: { anyOf: [{ type: 'object' }, { type: 'string', not: { pattern: URL_WITH_PASSWORD_PATTERN } }] },
      },
    ],
  });
export type EnvironmentVariables = z.infer<typeof environmentVariables>;

/**
 * Overrides of one catalog entry (lib/catalog/services.ts), or a whole new service. Every field of the
 * catalog can be overridden; `enabled: false` removes a default service.
 */
const serviceOverride = z.strictObject({
  enabled: z.boolean().optional().describe('false removes a service of the catalog (with its routes, which must then be overridden).'),
  type: z
    .enum(SERVICE_TYPES)
    .optional()
    .describe('What the service is: a web service behind a route, an internal one, or a background worker.'),
  image: z.enum(PREFECT_IMAGES).optional().describe('Which of the Prefect images runs it.'),
  command: z.array(z.string()).optional().describe("The container's command (its entrypoint)."),
  args: z.array(z.string()).optional().describe("The command's arguments."),
  port: z
    .int()
    .min(1024, { error: 'expected an unprivileged port (1024-65535)' })
    .max(65535)
    .optional()
    .describe('The port the service listens on (web and internal services).'),
  health: z
    .strictObject({
      liveness: z.string().regex(/^\//, { error: 'expected a path such as "/health"' }).describe("The liveness probe's HTTP path."),
      readiness: z.string().regex(/^\//, { error: 'expected a path such as "/health"' }).describe("The readiness probe's HTTP path."),
    })
    .optional()
    .describe('The HTTP paths of the probes.'),
  metrics: z
    .strictObject({
      path: z.string().regex(/^\//, { error: 'expected a path such as "/metrics"' }).describe("The metrics' HTTP path."),
      port: z
        .int()
        .min(1024, { error: 'expected an unprivileged port (1024-65535)' })
        .max(65535)
        .optional()
        .describe("A port of their own; omit for the service's port."),
    })
    .optional()
    .describe("Where the service's Prometheus metrics are: a path, on its port or on a port of their own."),
  host: z.enum(['api', 'app', 'both', 'internal']).optional().describe('Which hostname routes reach it on; internal: none.'),
  websockets: z.boolean().optional().describe('Whether it serves websockets (no timeout, no retries on its routes).'),
  backlog: z
    .array(
      z.strictObject({
        stream: z
          .string()
          .min(1)
          .max(256)
          .regex(/^\S+$/, { error: 'expected a Redis stream key without spaces' })
          .describe('The stream key.'),
        group: z
          .string()
          .min(1)
          .max(256)
          .regex(/^\S+$/, { error: 'expected a consumer group name without spaces' })
          .describe('Its consumer group.'),
      }),
    )
    .min(1)
    .optional()
    .describe(
      'The Redis streams and consumer groups it reads, for autoscaling.backlog (the Customer-Managed catalog names none: Prefect does not publish them).',
    ),
  databases: z
    .array(z.enum(DATABASES))
    .optional()
    .describe('The databases it connects to: it gets their URLs and a NetworkPolicy to PostgreSQL.'),
  redis: z
    .array(z.enum(REDIS_ROLES))
    .optional()
    .describe('The Redis roles it uses: it gets their URLs and a NetworkPolicy to their instances.'),
  replicas: z
    .int()
    .min(1, { error: 'expected at least 1 replica' })
    .max(1000)
    .optional()
    .describe("The least pods (the autoscaler's minimum)."),
  maxReplicas: z
    .int()
    .min(1, { error: 'expected at least 1 replica' })
    .max(1000)
    .optional()
    .describe('The most pods the autoscaler runs; at least `replicas`.'),
  resources: resources.optional().describe('CPU and memory of each pod.'),
  env: environmentVariables.optional().describe("More environment variables, over the catalog's."),
  egress: z.array(egressDestination).optional().describe("Replaces the entry's list; [] closes the service's way out of the cluster."),
});
export type ServiceOverride = z.infer<typeof serviceOverride>;

const httpsUrl = (example: string) =>
  z.string().regex(/^https:\/\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?(:\d+)?(\/[^\s]*)?$/, { error: `expected an https URL such as "${example}"` });
const clientId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:/-]{0,255}$/, { error: 'expected the application (client) ID the identity provider shows' });

/**
 * Single sign-on of the auth service (docs: reference/auth-methods): one provider or several at
 * once. Client secrets and API keys come from the Secret `sso-<provider>` (lib/catalog/secrets.ts);
 * the rest is not secret and lives here.
 */
const singleSignOn = z
  .strictObject({
    okta: z
      .strictObject({
        clientId: clientId.describe('The client ID of the application registered in Okta.'),
        authServerUrl: httpsUrl('https://example.okta.com/oauth2/default').describe(
          'The authorization server, e.g. https://example.okta.com/oauth2/default.',
        ),
      })
      .optional()
      .describe('Okta (its client secret in the Secret sso-okta).'),
    adfs: z
      .strictObject({
        clientId: clientId.describe('The client ID of the application registered in ADFS.'),
        authority: httpsUrl('https://adfs.example.com/adfs').describe('The ADFS authority, e.g. https://adfs.example.com/adfs.'),
        verifySsl: z
          .boolean()
          .default(true)
          .describe("Verify the server's TLS certificate (the chart's `clientVerifySSL`); on unless turned off."),
      })
      .optional()
      .describe('Active Directory Federation Services (its client secret in the Secret sso-adfs).'),
    entra: z
      .strictObject({
        clientId: clientId.describe('The application (client) ID of the app registered in Entra ID.'),
        tenantId: z
          .string()
          .regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, {
            error: 'expected the directory (tenant) ID, a GUID such as "00000000-0000-0000-0000-000000000000"',
          })
          .describe('The directory (tenant) ID.'),
        verifySsl: z.boolean().default(true).describe("Verify the login endpoint's TLS certificate; on unless turned off."),
        loginBaseUrl: httpsUrl('https://login.microsoftonline.com/')
          .default('https://login.microsoftonline.com/')
          .describe('The Microsoft login endpoint (reference/auth-methods: its default).'),
      })
      .optional()
      .describe('Microsoft Entra ID (its client secret in the Secret sso-entra).'),
    egress: z
      .array(egressDestination)
      .min(1, { error: 'expected at least one destination' })
      .optional()
      .describe(
        "Where the auth service may connect to reach the identity providers. Default: every public address on 443 (IPv4 and IPv6), the cluster's private ranges closed; an ADFS inside the company network needs its range here",
      ),
  })
  .superRefine((sso, context) => {
    if (sso.okta === undefined && sso.adfs === undefined && sso.entra === undefined) {
      context.addIssue({ code: 'custom', message: 'expected at least one provider: okta, adfs or entra' });
    }
  })
  .meta({ anyOf: [need('okta'), need('adfs'), need('entra')] });
export type SingleSignOn = z.infer<typeof singleSignOn>;

export const prefect = z.strictObject({
  image: z
    .strictObject({
      registry: z
        .string()
        .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?(:\d+)?(\/[a-z0-9._-]+)*$/, {
          error: 'expected a registry such as "registry.example.com/prefect"',
        })
        .describe(
          'The registry: the private one that serves `cloud/server` and `cloud/ui`, or for the open-source server e.g. `docker.io/prefecthq`.',
        ),
      tag: imageTag.describe('The tag of every Prefect image: a pinned release, never "latest".'),
      pullSecret: objectName.optional().describe('A `kubernetes.io/dockerconfigjson` Secret in the Prefect namespace.'),
      digests: z
        .strictObject(
          Object.fromEntries(
            PREFECT_IMAGES.map((image) => [
              image,
              z
                .string()
                .regex(/^sha256:[0-9a-f]{64}$/, { error: 'expected an image digest such as "sha256:" followed by 64 hex digits' })
                .optional()
                .describe(`The digest of ${image}:<tag>.`),
            ]),
          ) as Record<(typeof PREFECT_IMAGES)[number], z.ZodOptional<z.ZodString>>,
        )
        .optional()
        .describe(
          'Pin the images by content as well as by tag: `<image>:<tag>@<digest>` (the runtime pulls the digest; the tag stays for readers).',
        ),
    })
    .describe('Where the Prefect images come from.'),
  replicas: z.int().min(1, { error: 'expected at least 1 replica' }).default(1).describe('Default replicas of scalable services.'),
  migrations: z
    .strictObject({
      commands: z
        .strictObject(
          Object.fromEntries(
            DATABASES.map((database) => [
              database,
              z
                .array(z.array(z.string().min(1)).min(1, { error: 'expected a command such as [prefect-cloud, admin, database, upgrade]' }))
                .min(1, { error: 'expected at least one command' })
                .optional()
                .describe(`The "${database}" database's migration commands, each an argv list.`),
            ]),
          ) as Record<(typeof DATABASES)[number], z.ZodOptional<z.ZodArray<z.ZodArray<z.ZodString>>>>,
        )
        .optional()
        .describe(
          "Each database's migration commands, run in order in one pod (lib/prefect/migration-job.ts, DEFAULT_MIGRATION_STEPS); a database left out keeps its defaults.",
        ),
      env: environmentVariables
        .optional()
        .describe('Extra environment of every migration step (the Jobs run in the data namespace, as do the Secrets they read).'),
      deadlines: z
        .strictObject(
          Object.fromEntries(
            DATABASES.map((database) => [
              database,
              duration
                .refine((value) => (durationMilliseconds(value) ?? 0) >= 60_000, { error: 'expected at least one minute, such as "1h"' })
                .default(MIGRATION_DEADLINE)
                .describe(`How long the "${database}" database's migration may run.`),
            ]),
          ) as Record<(typeof DATABASES)[number], z.ZodDefault<z.ZodString>>,
        )
        .prefault({})
        .describe(
          "How long each database's migration may run (its Job's activeDeadlineSeconds, retries included); the migrations layer's Flux timeout follows the longest. Prefect says some migrations of a large database take 30 minutes and more.",
        ),
      cleanup: z
        .strictObject({
          enabled: z.boolean().default(true).describe('Whether the cleanup Job runs.'),
          kubectlVersion: z
            .string()
            .regex(/^v1\.\d+\.\d+$/, { error: 'expected a kubectl release such as "v1.34.4"' })
            .default('v1.34.4')
            .describe('The tag of the `registry.k8s.io/kubectl` image.'),
        })
        .prefault({})
        .describe(
          "Flux never prunes a migration Job (a new release would otherwise delete the previous one while it still runs). Instead, once every migration of the current release has succeeded, a small Job deletes the earlier releases' succeeded migration Jobs, with kubectl and a Role that may only read and delete Jobs of the data namespace. It reaches the API server at `cluster.apiServer`. Off: the earlier Jobs stay until deleted by hand.",
        ),
    })
    .prefault({})
    .describe('The schema-migration Jobs (one per database, in the migrations layer).'),
  maxReplicas: z
    .int()
    .min(1, { error: 'expected at least 1 replica' })
    .optional()
    .describe("Caps every scalable service's HPA maximum (small clusters)."),
  defaultResources: resources
    .optional()
    .describe('Resources of every service that `services.<name>.resources` does not set (small clusters).'),
  services: z
    .record(dnsLabel, serviceOverride.describe('Changes to this service of the catalog, or a new service.'))
    .default({})
    .describe(
      'The catalog of services (lib/catalog/services.ts), changed by name: any field can be overridden, and `enabled: false` removes a service.',
    ),
  apiAuth: z
    .enum(['basic', 'none'], { error: 'expected "basic" or "none"' })
    .optional()
    .describe(
      'The open-source server\'s API authentication: "basic" (PREFECT_SERVER_API_AUTH_STRING from the Secret api-auth; the default), or "none" when a proxy in front authenticates.',
    ),
  sso: singleSignOn.optional().describe('Single sign-on with Okta, ADFS and/or Entra (reference/auth-methods).'),
});

/** `autoscaling`: how the scalable services scale beyond CPU. */
export const autoscaling = z
  .strictObject({
    backlog: z
      .boolean()
      .default(false)
      .describe(
        'KEDA ScaledObjects instead of CPU HorizontalPodAutoscalers for the services that name their Redis streams (`backlog` in the catalog or prefect.services): they scale on the lag of their consumer groups, and on CPU.',
      ),
    lagPerReplica: z
      .int()
      .min(1)
      .max(1_000_000)
      .default(100)
      .describe("The entries waiting in a consumer group per replica: KEDA's lagCount, the target of the scaling."),
    installKeda: z
      .boolean()
      .default(true)
      .describe('Whether Flux installs KEDA (namespace keda, its operator in the mesh); false when the cluster already has it there.'),
  })
  .prefault({});
