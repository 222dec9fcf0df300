import { JSDOM } from 'jsdom';
import { beforeAll, describe, expect, it } from 'vitest';
import { restoreCommands } from '../../lib/data/postgres/logical-backup';
import type { RenderedEnvironment } from '../../lib/output/render';
import { buildVariant, VARIANTS } from '../config-variants';
import { build, ENVIRONMENTS } from '../helpers';

/** Mermaid's own parser: it needs a DOM, which jsdom provides. */
let parse: (text: string) => Promise<unknown>;
beforeAll(async () => {
  const dom = new JSDOM('<!doctype html><html><body></body></html>');
  Object.assign(globalThis, { window: dom.window, document: dom.window.document });
  const mermaid = (await import('mermaid')).default;
  parse = (text) => mermaid.parse(text);
});

const diagramOf = (readme: string) => {
  const match = /```mermaid\n([\s\S]*?)\n```/.exec(readme);
  if (!match?.[1]) throw new Error('no mermaid block in the README');
  return match[1];
};

describe.each(ENVIRONMENTS)('dist/%s/README.md', (environment) => {
  const rendered = build(environment);
  const readme = rendered.files.get('README.md') as string;

  it('has a traffic diagram that Mermaid parses', async () => {
    await expect(parse(diagramOf(readme))).resolves.toMatchObject({ diagramType: 'flowchart-v2' });
  });

  it('draws every service and every relation of the catalog', () => {
    const diagram = diagramOf(readme);
    const workloads = rendered.objects.filter(
      ({ layer, object }) => layer === 'prefect' && ['Deployment', 'StatefulSet'].includes(object.kind),
    );
    expect(workloads.map(({ object }) => object.kind)).toContain('StatefulSet');
    for (const { object } of workloads) {
      expect(diagram).toContain(`svc_${object.metadata.name.replace(/-/g, '_')}[`);
    }
    expect(diagram).toContain('svc_server --> db_orion');
    expect(diagram).toContain('svc_events --> redis_streams');
    expect(diagram).not.toContain('svc_ui --> db_');
  });

  it('lists the routes, the capacity summary and the object count per layer', () => {
    expect(readme).toMatch(/\| nebula \| api\.[a-z.]+ \| exact "\/api" or prefix "\/api\/" \| nebula:8080 \|/);
    expect(readme).toContain(`capacity of ${environment}:`);
    const total = Number(/\| total \| (\d+) \|/.exec(readme)?.[1]);
    expect(total).toBe(rendered.objects.length);
  });
});

it('fails to parse a broken diagram (the check can fail)', async () => {
  await expect(parse('flowchart LR\n  a["unclosed --> b')).rejects.toThrow(/Parse error/);
});

/**
 * Every Secret an object of `rendered` reads, as `namespace/name`, less those the installation
 * produces itself (a Certificate's Secret, an ExternalSecret's target, an ACME account key).
 */
function secretsRead(rendered: RenderedEnvironment): { read: Set<string>; produced: Set<string> } {
  const read = new Set<string>();
  const produced = new Set<string>();
  const walk = (node: unknown, namespace: string, parentKey: string): void => {
    if (Array.isArray(node)) {
      for (const item of node) walk(item, namespace, parentKey);
      return;
    }
    if (node === null || typeof node !== 'object') return;
    const record = node as Record<string, any>;
    if (
      parentKey === 'secretKeyRef' ||
      parentKey === 'secretRef' ||
      (parentKey.endsWith('SecretRef') && parentKey !== 'privateKeySecretRef')
    ) {
      if (typeof record.name === 'string') read.add(`${namespace}/${record.name}`);
    }
    if (parentKey === 'secret' && typeof record.secretName === 'string') read.add(`${namespace}/${record.secretName}`);
    if (parentKey === 'tls' && typeof record.credentialName === 'string') read.add(`${namespace}/${record.credentialName}`);
    if (parentKey === 'imagePullSecrets' && typeof record.name === 'string') read.add(`${namespace}/${record.name}`);
    for (const [key, value] of Object.entries(record)) walk(value, namespace, key);
  };
  for (const { object } of rendered.objects) {
    // A ClusterIssuer reads its Secrets in cert-manager's namespace (its cluster resource namespace).
    const namespace = object.metadata.namespace ?? (object.kind === 'ClusterIssuer' ? 'cert-manager' : '');
    const spec = object.spec as Record<string, any> | undefined;
    if (object.kind === 'Certificate') produced.add(`${namespace}/${spec?.secretName}`);
    if (object.kind === 'ExternalSecret') produced.add(`${namespace}/${spec?.target?.name ?? object.metadata.name}`);
    if (object.kind === 'ClusterIssuer' && spec?.ca) {
      produced.add(`${namespace}/${spec.ca.secretName}`); // the CA Certificate's
      continue;
    }
    walk(object.spec, namespace, '');
  }
  return { read, produced };
}

describe('the Secrets section, on an empty cluster', () => {
  it.each<[string, string, Record<string, unknown> | Record<string, unknown>[]]>([
    ...ENVIRONMENTS.map((environment) => [`dist/${environment}`, environment, {}] as [string, string, Record<string, unknown>]),
    ['an existing TLS Secret', 'prod', VARIANTS.existingTls],
    [
      'DNS-01 on Cloudflare',
      'prod',
      [
        { tls: null },
        {
          tls: {
            mode: 'letsencrypt',
            email: 'a@example.com',
            solver: { type: 'dns01', provider: { name: 'cloudflare', apiTokenSecret: { name: 'cloudflare-token', key: 'api-token' } } },
          },
        },
      ],
    ],
    [
      'DNS-01 on Route 53 with a key',
      'prod',
      [
        { tls: null },
        {
          tls: {
            mode: 'letsencrypt',
            email: 'a@example.com',
            solver: {
              type: 'dns01',
              provider: {
                name: 'route53',
                region: 'us-east-1',
                accessKeySecret: { name: 'route53-key', accessKeyIdKey: 'id', secretAccessKeyKey: 'secret' },
              },
            },
          },
        },
      ],
    ],
    [
      'an external PostgreSQL with its CA',
      'dev',
      { postgres: { provider: 'external', external: { host: 'db.example.com', sslMode: 'verify-ca', caSecret: 'db-ca' } } },
    ],
    ['External Secrets', 'dev', VARIANTS.externalSecrets],
  ])('%s: creates every Secret read that nothing in the installation produces, each after its namespace', (_case, environment, changes) => {
    const rendered = Object.keys(changes).length === 0 && !Array.isArray(changes) ? build(environment) : buildVariant(environment, changes);
    const readme = rendered.files.get('README.md') as string;
    const lines = readme.split('\n');
    const namespaceLine = new Map(
      lines.flatMap((line, index) => {
        const match = /^kubectl create namespace (\S+) /.exec(line);
        return match ? [[match[1] as string, index] as const] : [];
      }),
    );
    const created = new Map<string, number>(
      lines.flatMap((line, index) => {
        const match = /^kubectl --namespace (\S+) create secret \S+ (\S+)/.exec(line);
        return match ? [[`${match[1]}/${match[2]}`, index] as const] : [];
      }),
    );
    const { read, produced } = secretsRead(rendered);
    expect(read.size).toBeGreaterThan(0);
    const toCreate = [...read].filter((secret) => !produced.has(secret));
    expect(toCreate.filter((secret) => !created.has(secret))).toEqual([]);
    for (const [secret, index] of created) {
      const namespace = secret.slice(0, secret.indexOf('/'));
      expect(namespaceLine.get(namespace), `namespace of ${secret}`).toBeLessThan(index);
    }
  });
});

describe('the Operations section', () => {
  const readme = (rendered: RenderedEnvironment) => rendered.files.get('README.md') as string;
  const operations = (rendered: RenderedEnvironment) => readme(rendered).split('## Operations\n')[1]?.split('\n## ')[0] ?? '';

  it('gives prod its backup schedule, volume and the restore commands that the backup test runs', () => {
    const section = operations(build('prod'));
    expect(section).toContain('`prefect-data/postgres-backup` runs `pg_dump` of events, nebula, orion');
    expect(section).toContain('at `0 3 * * *` (UTC)');
    expect(section).toContain('(200Gi, gp3); the newest 7 complete backups are kept');
    for (const command of restoreCommands(['events', 'nebula', 'orion'], '/backups/<backup>')) expect(section).toContain(command);
    expect(section).toContain('flux suspend kustomization prefect-prod-prefect');
  });

  it('says so where no backup is configured, and names what CloudNativePG backs up to', () => {
    expect(operations(build('dev'))).toContain('PostgreSQL: **no backup is configured**: set `postgres.logicalBackup`');
    const cloudnative = operations(buildVariant('prod', VARIANTS.cloudnativePg));
    expect(cloudnative).toContain('base backups and WAL archiving by the Barman Cloud plugin to `s3://prefect-backups/prod`');
    expect(cloudnative).not.toContain('pg_restore');
  });
});
