import { DATABASES, REDIS_INSTANCES, type DatabaseName, type RedisName } from './services';
import { SSO_PROVIDERS, SSO_SECRET_KEYS, type SsoProvider } from './single-sign-on';

/*
 * Every Secret the installation reads, in one place: its id (the key in `secrets.names` and in
 * the external store), its keys, its type and what it is for. Objects never hold a secret value;
 * they reference these Secrets by name (lib/data/secrets/secrets.ts), and a test checks that every
 * `secretKeyRef` and secret volume in dist/ names a Secret and key defined here.
 */

/** The Secrets whose names `secrets.names.<id>` sets (default "prefect-<id>"). */
export type NamedSecretId =
  | 'postgres-superuser'
  | `postgres-${DatabaseName}`
  | `redis-${RedisName}`
  | 'postgres-backup'
  | `sso-${SsoProvider}`
  | 'api-auth';
/** Every Secret: the named ones, and the image pull secret, named by `prefect.image.pullSecret`. */
export type SecretId = NamedSecretId | 'image-pull';

export const SECRET_IDS: readonly NamedSecretId[] = [
  'postgres-superuser',
  ...DATABASES.map((database) => `postgres-${database}` as const),
  ...REDIS_INSTANCES.map((instance) => `redis-${instance}` as const),
  'postgres-backup',
  ...SSO_PROVIDERS.map((provider) => `sso-${provider}` as const),
  'api-auth',
];

/** The keys of the Secrets, by meaning. */
export const SECRET_KEY = {
  username: 'username',
  password: 'password',
  /** The Redis `admin` ACL user's password (CONFIG, ACL and other administrative commands). */
  adminPassword: 'admin-password',
  /** CloudNativePG's barman-cloud reads S3 credentials from these keys. */
  accessKeyId: 'ACCESS_KEY_ID',
  secretAccessKey: 'ACCESS_SECRET_KEY',
  /** A `kubernetes.io/dockerconfigjson` Secret's registry credentials. */
  dockerConfigJson: '.dockerconfigjson',
} as const;

export interface SecretDefinition {
  /** The catalog's id; for a Secret the configuration names itself, its name. */
  readonly id: SecretId | string;
  /** `kubernetes.io/basic-auth` where CloudNativePG requires it (roles, superuser). */
  readonly type: 'kubernetes.io/basic-auth' | 'kubernetes.io/dockerconfigjson' | 'Opaque';
  readonly keys: readonly string[];
  /** What the user must put in, for the README and for error messages. */
  readonly description: string;
  /** A fixed value a key must have, e.g. the role name in `username` (CloudNativePG checks it). */
  readonly fixed?: Readonly<Record<string, string>>;
}

const roleSecret = (database: DatabaseName): SecretDefinition => ({
  id: `postgres-${database}`,
  type: 'kubernetes.io/basic-auth',
  keys: [SECRET_KEY.username, SECRET_KEY.password],
  description: `the login role of the "${database}" database: username must be "${database}"; the password is used in a URL without encoding, so use URL-safe characters (e.g. \`openssl rand -hex 32\`)`,
  fixed: { [SECRET_KEY.username]: database },
});

const redisSecret = (instance: RedisName): SecretDefinition => ({
  id: `redis-${instance}`,
  type: 'Opaque',
  keys: [SECRET_KEY.password, SECRET_KEY.adminPassword],
  description: `Redis "${instance}": password of the application user (the ACL user "default"), admin-password of the "admin" user; URL-safe characters, no trailing newline`,
});

const ssoSecret = (provider: SsoProvider, title: string): SecretDefinition => ({
  id: `sso-${provider}`,
  type: 'Opaque',
  keys: SSO_SECRET_KEYS[provider],
  description: `${title} single sign-on of the auth service (prefect.sso.${provider}): ${SSO_SECRET_KEYS[provider].join(' and ')} of the application registered there`,
});

export const SECRET_CATALOG: Readonly<Record<SecretId, SecretDefinition>> = {
  'postgres-superuser': {
    id: 'postgres-superuser',
    type: 'kubernetes.io/basic-auth',
    keys: [SECRET_KEY.username, SECRET_KEY.password],
    description:
      'the PostgreSQL superuser (init and migration Jobs); with CloudNativePG the username must be "postgres"; with an external server, its administrator',
  },
  'postgres-events': roleSecret('events'),
  'postgres-nebula': roleSecret('nebula'),
  'postgres-orion': roleSecret('orion'),
  'postgres-prefect': roleSecret('prefect'),
  'redis-cache': redisSecret('cache'),
  'redis-work': redisSecret('work'),
  'redis-streams': redisSecret('streams'),
  'redis-messaging': redisSecret('messaging'),
  'postgres-backup': {
    id: 'postgres-backup',
    type: 'Opaque',
    keys: [SECRET_KEY.accessKeyId, SECRET_KEY.secretAccessKey],
    description: 'S3 credentials of CloudNativePG backups (only with postgres.backup.credentials "secret")',
  },
  'sso-okta': ssoSecret('okta', 'Okta'),
  'sso-adfs': ssoSecret('adfs', 'ADFS'),
  'sso-entra': ssoSecret('entra', 'Microsoft Entra ID'),
  'api-auth': {
    id: 'api-auth',
    type: 'Opaque',
    keys: ['auth-string'],
    description:
      'the open-source server\'s basic auth (prefect.apiAuth basic): auth-string is "<user>:<password>"; clients and workers send it as PREFECT_API_AUTH_STRING',
  },
  'image-pull': {
    id: 'image-pull',
    type: 'kubernetes.io/dockerconfigjson',
    keys: [SECRET_KEY.dockerConfigJson],
    description: 'the registry credentials for the Prefect images (services and migration Jobs), named by prefect.image.pullSecret',
  },
};

/** The default Kubernetes name of a Secret: "prefect-<id>". */
export function defaultSecretName(id: SecretId): string {
  return `prefect-${id}`;
}

/** The Secret that holds a database role's password. */
export function roleSecretId(database: DatabaseName): SecretId {
  return `postgres-${database}`;
}

export function redisSecretId(instance: RedisName): SecretId {
  return `redis-${instance}`;
}
