import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatSecretFindings, isReference, looksLikeSecret, scanFolders, scanText, shannonEntropy } from '../../lib/policy/secrets-scan';
import { PROJECT_ROOT } from '../helpers';

/*
 * Planted secrets are assembled at run time, so this file itself holds no credential-shaped
 * string for other scanners to trip over. None of them is real.
 */
const RANDOM = 'Zx9qLm2VbT7rW4kPs8Jd'; // 20 distinct characters: 4.3 bits/character
const AWS_KEY = ['AKIA', 'IOSFODNN7EXAMPLE'].join('');
const GITHUB_TOKEN = ['gh', 'p_', 'A1b2C3d4'.repeat(5)].join('');
const SLACK_TOKEN = ['xo', 'xb-', '1234567890-', 'AbCdEfGhIjKl'].join('');
const PEM = ['-----BEGIN ', 'RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END ', 'RSA PRIVATE KEY-----'].join('');

const kinds = (file: string, text: string) => scanText(file, text).map((finding) => finding.kind);

describe('the secrets scan finds', () => {
  it('a Secret with data or stringData, also nested in another object', () => {
    expect(kinds('a.yaml', 'apiVersion: v1\nkind: Secret\nmetadata: { name: db }\ndata:\n  password: aHVudGVyMg==\n')).toEqual([
      'secret-object',
    ]);
    expect(kinds('a.yaml', 'apiVersion: v1\nkind: Secret\nmetadata: { name: db }\nstringData:\n  password: hunter2\n')).toEqual([
      'secret-object',
    ]);
    const nested =
      'apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: { name: x }\nspec:\n  values:\n    extraObjects:\n      - apiVersion: v1\n        kind: Secret\n        metadata: { name: y }\n        data: { token: eA== }\n';
    expect(kinds('a.yaml', nested)).toEqual(['secret-object']);
    expect(
      kinds(
        'a.yaml',
        '---\napiVersion: v1\nkind: ConfigMap\nmetadata: { name: a }\n---\napiVersion: v1\nkind: Secret\nmetadata: { name: b }\ndata: { k: eA== }\n',
      ),
    ).toEqual(['secret-object']);
  });

  it('a PEM private key, in YAML or any other file', () => {
    const configMap = `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: tls }\ndata:\n  key.pem: |\n${PEM.split('\n')
      .map((line) => `    ${line}`)
      .join('\n')}\n`;
    expect(kinds('a.yaml', configMap)).toEqual(['private-key']);
    const [finding] = scanText('notes.txt', `line one\n${PEM}\n`);
    expect(finding).toMatchObject({ kind: 'private-key', line: 2 });
  });

  it('a random-looking literal under a password, token, secret, api key, credential or private key name', () => {
    for (const key of [
      'password',
      'adminPasswd',
      'clientSecret',
      'token',
      'apiKey',
      'api_key',
      'credentials',
      'privateKey',
      'DB_PASSWORD',
    ]) {
      expect(kinds('a.yaml', `${key}: "${RANDOM}"\n`), key).toEqual(['high-entropy']);
    }
  });

  it('a random-looking literal in an environment variable named like a secret', () => {
    const text = `env:\n  - name: PREFECT_API_TOKEN\n    value: "${RANDOM}"\n`;
    const findings = scanText('a.yaml', text);
    expect(findings.map((finding) => finding.kind)).toEqual(['high-entropy']);
    expect(findings[0]?.line).toBe(3);
    expect(findings[0]?.message).toContain('PREFECT_API_TOKEN');
    expect(findings[0]?.message).not.toContain(RANDOM);
  });

  it('a random-looking literal assigned inside a configuration file or command line', () => {
    expect(kinds('a.yaml', `data:\n  redis.conf: |\n    maxmemory 2gb\n    requirepass ${RANDOM}\n`)).toEqual(['high-entropy']);
    expect(kinds('a.yaml', `args: ["--db-password=${RANDOM}"]\n`)).toEqual(['high-entropy']);
  });

  it('cloud credentials by their format, under any key and in any file', () => {
    expect(kinds('a.yaml', `note: ${AWS_KEY}\n`)).toEqual(['cloud-key']);
    expect(kinds('a.json', JSON.stringify({ description: `use ${GITHUB_TOKEN}` }))).toEqual(['cloud-key']);
    expect(kinds('README.md', `Slack: ${SLACK_TOKEN}\n`)).toEqual(['cloud-key']);
  });

  it('a URL with a literal password', () => {
    expect(kinds('a.yaml', 'url: postgres://prefect:hunter2hunter2@db:5432/orion\n')).toEqual(['credential-url']);
  });

  it('and never prints a value in full', () => {
    const report = formatSecretFindings(scanText('a.yaml', `password: "${RANDOM}"\nnote: ${AWS_KEY}\n`));
    expect(report).not.toContain(RANDOM);
    expect(report).not.toContain(AWS_KEY);
    expect(report).toMatch(/secrets scan: FAILED: 2 finding\(s\)/);
  });
});

describe('the secrets scan passes', () => {
  it('references to Secrets, by name and key', () => {
    const text = [
      'env:',
      '  - name: DB_PASSWORD',
      '    valueFrom: { secretKeyRef: { name: prefect-postgres-superuser, key: password } }',
      '  - name: PREFECT_API_TOKEN_FILE',
      '    value: /var/run/secrets/prefect/token',
      '  - name: DATABASE_URL',
      '    value: postgresql://$(DB_USER):$(DB_PASSWORD)@postgres.prefect-data.svc:5432/orion',
      'secretName: prefect-tls-certificate',
      'credentialName: prefect-gateway-credential',
      'passwordKey: password',
      'privateKeySecretRef: { name: letsencrypt-production-account-key }',
      'tokenSecretRef: { name: cloudflare-api-token, key: api-token }',
      'existingSecret: REDIS_WORK_PASSWORD',
      'script: |',
      '  PGPASSWORD="$POSTGRES_SUPERUSER_PASSWORD" psql',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell expansion, the scanner's input
      '  export TOKEN="${TOKEN_FROM_FILE}"',
      '  requirepass $(cat /run/secrets/redis/password)',
    ].join('\n');
    expect(scanText('a.yaml', text)).toEqual([]);
  });

  it('an ExternalSecret and a Secret without data', () => {
    const external =
      'apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: { name: db }\nspec:\n  target: { name: db, template: { data: { password: "{{ .password }}" } } }\n  data:\n    - secretKey: password\n      remoteRef: { key: prod/prefect/db, property: password }\n';
    expect(scanText('a.yaml', external)).toEqual([]);
    expect(scanText('a.yaml', 'apiVersion: v1\nkind: Secret\nmetadata: { name: filled-later }\ntype: Opaque\n')).toEqual([]);
  });

  it('short or low-entropy values, and keys that are not about secrets', () => {
    expect(
      scanText(
        'a.yaml',
        `password: changeme\ntoken: aaaaaaaaaaaaaaaaaaaaaaaa\nimage: "registry.example.com/prefect@sha256:${'0123456789abcdef'.repeat(4)}"\nchecksum: ${RANDOM}\n`,
      ),
    ).toEqual([]);
  });

  it('prose about passwords in a JSON schema', () => {
    const schema = JSON.stringify({
      properties: {
        passwordSecret: {
          type: 'string',
          description: 'The Secret that holds the password: create it with kubectl create secret generic prefect-postgres-superuser',
        },
      },
    });
    expect(scanText('schema.json', schema)).toEqual([]);
  });
});

describe('the secrets-scan heuristics', () => {
  it('measure entropy in bits per character', () => {
    expect(shannonEntropy('aaaa')).toBe(0);
    expect(shannonEntropy('abcd')).toBe(2);
    expect(shannonEntropy(RANDOM)).toBeGreaterThan(4);
  });

  it('tell names from random strings', () => {
    expect(isReference('prefect-postgres-superuser')).toBe(true);
    expect(isReference('NEBULA_DATABASE_PASSWORD')).toBe(true);
    expect(isReference('k8x2mq9zp0v4lr7t')).toBe(false);
    expect(looksLikeSecret('k8x2mq9zp0v4lr7t')).toBe(true);
    expect(looksLikeSecret(['66f83a623bbbc93a', '18d1ae36826b50b9'].join(''))).toBe(true); // hex: judged at 3 bits/character
    expect(looksLikeSecret('Zx9qLm2VbT7rW4k')).toBe(false); // 15 characters: too short to judge
  });
});

describe('the committed files', () => {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'prefect-secrets-'));
  afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

  it('dist/ and config/ hold no secret', () => {
    const findings = scanFolders(PROJECT_ROOT, ['dist', 'config']);
    expect(findings, formatSecretFindings(findings)).toEqual([]);
  });

  it('a planted secret in a copy of them is found, with its file and line', () => {
    fs.cpSync(path.join(PROJECT_ROOT, 'config'), path.join(scratch, 'config'), { recursive: true });
    const file = fs.readdirSync(path.join(scratch, 'config')).find((name) => name.endsWith('.yaml')) as string;
    const lines = fs.readFileSync(path.join(scratch, 'config', file), 'utf8').split('\n').length;
    fs.appendFileSync(path.join(scratch, 'config', file), `# leaked: ${AWS_KEY}\n`);
    expect(scanFolders(scratch, ['config', 'dist'])).toEqual([
      expect.objectContaining({ file: `config/${file}`, line: lines, kind: 'cloud-key' }),
    ]);
  });
});
