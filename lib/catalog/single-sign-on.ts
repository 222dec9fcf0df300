/*
 * Single sign-on of the auth service: the identity providers Prefect documents (reference/auth-methods:
 * Okta, ADFS and Entra, one or several at once), the settings each takes, and the environment
 * variables they become. The page documents the chart's values (`global.authProvider.<provider>.*`)
 * and the variable that lists several providers (PREFECT_CLOUD_AUTH_OAUTH_PROVIDERS); the names of
 * the other variables are ASSUMPTIONS of this project, one prefix per provider (README, Assumptions).
 */

export const SSO_PROVIDERS = ['okta', 'adfs', 'entra'] as const;
export type SsoProvider = (typeof SSO_PROVIDERS)[number];

/** The service that signs users in (reference/auth-methods): it alone gets the settings and the way out. */
export const SSO_SERVICE = 'auth';

/** reference/auth-methods, "Multiple Provider Configuration": the providers offered at login. */
export const SSO_PROVIDERS_VARIABLE = 'PREFECT_CLOUD_AUTH_OAUTH_PROVIDERS';

/** The Secret keys of each provider's Secret (`sso-<provider>` in lib/catalog/secrets.ts). */
export const SSO_SECRET_KEYS: Readonly<Record<SsoProvider, readonly string[]>> = {
  okta: ['client-secret', 'api-key'],
  adfs: ['client-secret'],
  entra: ['client-secret'],
};

/**
 * Each provider's settings: the chart value the docs name, its variable, and where the value comes
 * from (a configuration field, or a key of the provider's Secret).
 */
export const SSO_SETTINGS: Readonly<
  Record<
    SsoProvider,
    ReadonlyArray<
      { readonly chartValue: string; readonly variable: string } & ({ readonly field: string } | { readonly secretKey: string })
    >
  >
> = {
  okta: [
    { chartValue: 'clientID', variable: 'PREFECT_CLOUD_AUTH_OKTA_CLIENT_ID', field: 'clientId' },
    { chartValue: 'clientSecret', variable: 'PREFECT_CLOUD_AUTH_OKTA_CLIENT_SECRET', secretKey: 'client-secret' },
    { chartValue: 'authServerURL', variable: 'PREFECT_CLOUD_AUTH_OKTA_AUTH_SERVER_URL', field: 'authServerUrl' },
    { chartValue: 'apiKey', variable: 'PREFECT_CLOUD_AUTH_OKTA_API_KEY', secretKey: 'api-key' },
  ],
  adfs: [
    { chartValue: 'clientID', variable: 'PREFECT_CLOUD_AUTH_ADFS_CLIENT_ID', field: 'clientId' },
    { chartValue: 'clientSecret', variable: 'PREFECT_CLOUD_AUTH_ADFS_CLIENT_SECRET', secretKey: 'client-secret' },
    { chartValue: 'clientAuthority', variable: 'PREFECT_CLOUD_AUTH_ADFS_CLIENT_AUTHORITY', field: 'authority' },
    { chartValue: 'clientVerifySSL', variable: 'PREFECT_CLOUD_AUTH_ADFS_CLIENT_VERIFY_SSL', field: 'verifySsl' },
  ],
  entra: [
    { chartValue: 'clientID', variable: 'PREFECT_CLOUD_AUTH_ENTRA_CLIENT_ID', field: 'clientId' },
    { chartValue: 'clientSecret', variable: 'PREFECT_CLOUD_AUTH_ENTRA_CLIENT_SECRET', secretKey: 'client-secret' },
    { chartValue: 'tenantID', variable: 'PREFECT_CLOUD_AUTH_ENTRA_TENANT_ID', field: 'tenantId' },
    { chartValue: 'clientVerifySSL', variable: 'PREFECT_CLOUD_AUTH_ENTRA_CLIENT_VERIFY_SSL', field: 'verifySsl' },
    { chartValue: 'loginBaseURL', variable: 'PREFECT_CLOUD_AUTH_ENTRA_LOGIN_BASE_URL', field: 'loginBaseUrl' },
  ],
};
