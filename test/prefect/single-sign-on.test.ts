import { describe, expect, it } from 'vitest';
import type { RenderedEnvironment } from '../../lib/output/render';
import { buildVariant, VARIANTS } from '../config-variants';
import { build, findObject } from '../helpers';

type Spec = Record<string, any>;

const envOf = (rendered: RenderedEnvironment, service: string) =>
  Object.fromEntries(
    ((findObject(rendered, 'Deployment', service, 'prefect').spec as Spec).template.spec.containers[0].env as Spec[]).map((variable) => [
      variable.name,
      variable.value ?? variable.valueFrom,
    ]),
  );
const ssoVariables = (env: Record<string, unknown>) => Object.keys(env).filter((name) => name.startsWith('PREFECT_CLOUD_AUTH_'));
const egressOf = (rendered: RenderedEnvironment, service: string) =>
  ((findObject(rendered, 'NetworkPolicy', service, 'prefect').spec as Spec).egress as Spec[]).flatMap((rule) =>
    (rule.to as Spec[])
      .filter((peer) => peer.ipBlock)
      .map((peer) => ({ ...peer.ipBlock, ports: rule.ports.map((port: Spec) => port.port) })),
  );

const ALL_PROVIDERS = VARIANTS.everySso;

describe('single sign-on', () => {
  const prod = build('prod');

  it('gives the auth service its provider settings, and the client secret from a Secret, never a literal', () => {
    const env = envOf(prod, 'auth');
    expect(env).toMatchObject({
      PREFECT_CLOUD_AUTH_OAUTH_PROVIDERS: '["entra"]',
      PREFECT_CLOUD_AUTH_ENTRA_CLIENT_ID: '3f1c2b7a-5d4e-4f60-9a8b-1c2d3e4f5a6b',
      PREFECT_CLOUD_AUTH_ENTRA_TENANT_ID: '9e8d7c6b-5a49-4382-9170-6f5e4d3c2b1a',
      PREFECT_CLOUD_AUTH_ENTRA_CLIENT_VERIFY_SSL: 'true',
      PREFECT_CLOUD_AUTH_ENTRA_LOGIN_BASE_URL: 'https://login.microsoftonline.com/',
      PREFECT_CLOUD_AUTH_ENTRA_CLIENT_SECRET: { secretKeyRef: { name: 'prefect-sso-entra', key: 'client-secret' } },
    });
    // Only auth signs users in.
    for (const other of ['nebula', 'server', 'events', 'ui']) expect(ssoVariables(envOf(prod, other)), other).toEqual([]);
    expect(prod.files.get('README.md')).toContain(
      'kubectl --namespace prefect create secret generic prefect-sso-entra --type=Opaque --from-literal=client-secret=<client-secret>',
    );
  });

  it('offers several providers at once, each with its own Secret keys', () => {
    const all = buildVariant('prod', ALL_PROVIDERS);
    const env = envOf(all, 'auth');
    expect(env.PREFECT_CLOUD_AUTH_OAUTH_PROVIDERS).toBe('["okta","adfs","entra"]');
    expect(env.PREFECT_CLOUD_AUTH_OKTA_AUTH_SERVER_URL).toBe('https://example.okta.com/oauth2/default');
    expect(env.PREFECT_CLOUD_AUTH_OKTA_API_KEY).toEqual({ secretKeyRef: { name: 'prefect-sso-okta', key: 'api-key' } });
    expect(env.PREFECT_CLOUD_AUTH_ADFS_CLIENT_AUTHORITY).toBe('https://adfs.example.com/adfs');
    expect(env.PREFECT_CLOUD_AUTH_ADFS_CLIENT_VERIFY_SSL).toBe('false');
    expect(env.PREFECT_CLOUD_AUTH_ADFS_CLIENT_SECRET).toEqual({ secretKeyRef: { name: 'prefect-sso-adfs', key: 'client-secret' } });
    expect(all.files.get('README.md')).toContain(
      'create secret generic prefect-sso-okta --type=Opaque --from-literal=client-secret=<client-secret> --from-literal=api-key=<api-key>',
    );
  });

  it('opens the auth service to the internet on 443 only with single sign-on, or to the ranges configured', () => {
    expect(egressOf(build('dev'), 'auth')).toEqual([]);
    const internet = egressOf(prod, 'auth');
    expect(internet.map((block) => [block.cidr, block.ports])).toEqual([
      ['0.0.0.0/0', [443]],
      ['::/0', [443]],
    ]);
    expect(internet[0]?.except).toContain('10.0.0.0/8');
    const onPremises = buildVariant('prod', { prefect: { sso: { egress: [{ cidr: '10.20.0.0/16', ports: [443] }] } } });
    expect(egressOf(onPremises, 'auth')).toEqual([{ cidr: '10.20.0.0/16', ports: [443] }]);
  });

  it('reads the providers Secret through External Secrets where the installation does', () => {
    const external = buildVariant('dev', [VARIANTS.externalSecrets, ALL_PROVIDERS]);
    const secret = findObject(external, 'ExternalSecret', 'prefect-sso-okta', 'prefect').spec as Spec;
    expect(secret.data).toEqual([
      { secretKey: 'client-secret', remoteRef: { key: 'prefect/dev/sso-okta', property: 'client-secret' } },
      { secretKey: 'api-key', remoteRef: { key: 'prefect/dev/sso-okta', property: 'api-key' } },
    ]);
  });

  it('refuses an empty section, a provider without its fields, and single sign-on without the auth service', () => {
    expect(() => buildVariant('dev', { prefect: { sso: {} } })).toThrow(
      'config/dev.yaml: prefect.sso: expected at least one provider: okta, adfs or entra',
    );
    expect(() => buildVariant('dev', { prefect: { sso: { entra: { clientId: 'abc' } } } })).toThrow(
      'config/dev.yaml: prefect.sso.entra.tenantId: required',
    );
    expect(() =>
      buildVariant('dev', { prefect: { sso: { okta: { clientId: 'abc', authServerUrl: 'http://example.okta.com' } } } }),
    ).toThrow(
      'prefect.sso.okta.authServerUrl: expected an https URL such as "https://example.okta.com/oauth2/default", got "http://example.okta.com"',
    );
    expect(() => buildVariant('prod', { prefect: { services: { auth: { enabled: false } } } })).toThrow(
      'config/prod.yaml: prefect.sso: expected the auth service to run',
    );
  });
});

describe('secret settings of a service', () => {
  it('render a Secret key as valueFrom.secretKeyRef and list the Secret to create', () => {
    const rendered = buildVariant('prod', {
      prefect: {
        services: { actions: { env: { SMTP_PASSWORD: { secret: 'prefect-smtp', key: 'password' }, SMTP_HOST: 'smtp.example.com' } } },
      },
    });
    const env = envOf(rendered, 'actions');
    expect(env.SMTP_PASSWORD).toEqual({ secretKeyRef: { name: 'prefect-smtp', key: 'password' } });
    expect(env.SMTP_HOST).toBe('smtp.example.com');
    expect(rendered.files.get('README.md')).toMatch(
      /# prefect\.services\.actions\.env\.SMTP_PASSWORD\nkubectl --namespace prefect create secret generic prefect-smtp --type=Opaque --from-literal=password=<password>/,
    );
  });

  it('come from the store through an ExternalSecret of that name with External Secrets, nothing to create by hand', () => {
    const rendered = buildVariant('dev', [
      VARIANTS.externalSecrets,
      { prefect: { services: { actions: { env: { SMTP_PASSWORD: { secret: 'prefect-smtp', key: 'password' } } } } } },
    ]);
    const secret = findObject(rendered, 'ExternalSecret', 'prefect-smtp', 'prefect').spec as Spec;
    expect(secret.target).toMatchObject({ name: 'prefect-smtp', template: { type: 'Opaque' } });
    expect(secret.data).toEqual([{ secretKey: 'password', remoteRef: { key: 'prefect/dev/prefect-smtp', property: 'password' } }]);
    expect(rendered.files.get('README.md')).not.toContain('prefect-smtp');
  });

  it('refuse a literal under a secret-looking name, or a URL with a password, and never print the value', () => {
    for (const [name, value] of [
      ['SMTP_PASSWORD', 'hunter2-correct-horse'],
      ['PREFECT_API_KEY', 'pnu_0123456789abcdef'],
      ['OAUTH_CLIENT_SECRET', 's3cr3t-v4lue'],
      ['WEBHOOK_URL', 'https://bot:tok3n-value@hooks.example.com/x'],
    ] as const) {
      let message = '';
      try {
        buildVariant('prod', { prefect: { services: { actions: { env: { [name]: value } } } } });
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message, name).toContain(`config/prod.yaml: prefect.services.actions.env.${name}: `);
      expect(message, name).toContain(`expected a Secret key, ${name}: { secret: <Secret name>, key: <key> }, not a literal`);
      expect(message, name).not.toContain(value);
    }
  });

  it('accept literals whose names only mention a secret (its file, its lifetime)', () => {
    const rendered = buildVariant('prod', {
      prefect: { services: { actions: { env: { PREFECT_API_KEY_FILE: '/etc/prefect/key', AUTH_TOKEN_TTL_SECONDS: '3600' } } } },
    });
    expect(envOf(rendered, 'actions')).toMatchObject({ PREFECT_API_KEY_FILE: '/etc/prefect/key', AUTH_TOKEN_TTL_SECONDS: '3600' });
  });

  it('refuse to read one of the installation own Secrets as a configured one', () => {
    expect(() =>
      buildVariant('prod', {
        prefect: { services: { actions: { env: { X_TOKEN: { secret: 'prefect-postgres-orion', key: 'password' } } } } },
      }),
    ).toThrow('the Secret "prefect-postgres-orion" is the installation\'s own "postgres-orion"');
  });
});
