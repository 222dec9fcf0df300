import { SSO_PROVIDERS, SSO_PROVIDERS_VARIABLE, SSO_SETTINGS, type SsoProvider } from '../catalog/single-sign-on';
import type { SingleSignOn } from '../config/prefect-schema';
import type { EnvValue } from '../core/data-client';

/**
 * The auth service's single sign-on environment (lib/catalog/single-sign-on.ts): the providers
 * offered at login, then each configured provider's settings, its client secret and API key read
 * from its Secret (`secretKey(provider, key)` gives the reference). A boolean reads as "true" or
 * "false".
 */
export function ssoEnvironment(
  sso: SingleSignOn,
  secretKey: (provider: SsoProvider, key: string) => { readonly name: string; readonly key: string },
): Map<string, EnvValue> {
  const configured = SSO_PROVIDERS.filter((provider) => sso[provider] !== undefined);
  // A list setting, as pydantic settings read one from the environment: JSON.
  const env = new Map<string, EnvValue>([[SSO_PROVIDERS_VARIABLE, { value: JSON.stringify(configured) }]]);
  for (const provider of configured) {
    const fields = sso[provider] as Readonly<Record<string, string | boolean>>;
    for (const setting of SSO_SETTINGS[provider]) {
      if ('secretKey' in setting) {
        env.set(setting.variable, { secretKeyRef: secretKey(provider, setting.secretKey) });
        continue;
      }
      const value = fields[setting.field];
      if (value === undefined) throw new Error(`prefect.sso.${provider}.${setting.field} is missing (the schema requires it)`);
      env.set(setting.variable, { value: String(value) });
    }
  }
  return env;
}
