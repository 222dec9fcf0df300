import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as yaml from 'js-yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfigFile, parseConfig } from '../../lib/config/load';
import { buildVariant } from '../config-variants';
import { PROJECT_ROOT } from '../helpers';

const FILE = 'config/test.yaml';

const VALID = `
environment: test
domain: prefect.example.com
tls:
  mode: selfsigned
prefect:
  image:
    registry: registry.example.com/prefect
    tag: "2026.11.1"
cluster:
  nodes: 1
  cpuPerNode: "8"
  memoryPerNode: 16Gi
`;

/** The valid configuration with `changes` merged in (null deletes a key). */
function variant(changes: Record<string, unknown>): string {
  const merge = (base: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> => {
    const result = { ...base };
    for (const [key, value] of Object.entries(patch)) {
      if (value === null) delete result[key];
      else if (typeof value === 'object' && !Array.isArray(value) && typeof result[key] === 'object')
        result[key] = merge(result[key] as Record<string, unknown>, value as Record<string, unknown>);
      else result[key] = value;
    }
    return result;
  };
  return yaml.dump(merge(yaml.load(VALID) as Record<string, unknown>, changes));
}

function problemsOf(text: string): readonly string[] {
  try {
    parseConfig(text, FILE, 'test');
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected the configuration to be rejected');
}

describe('configuration', () => {
  it('fills every default of a minimal file', () => {
    const config = parseConfig(VALID, FILE, 'test');
    expect(config.hostnames).toEqual({ api: 'api.prefect.example.com', app: 'app.prefect.example.com' });
    expect(config.flux.path).toBe('./dist/test');
    expect(config.namespaces).toEqual({
      prefect: 'prefect',
      data: 'prefect-data',
      istio: 'istio-system',
      ingress: 'istio-ingress',
      certManager: 'cert-manager',
    });
    expect(config.redis.streams.memory).toBe('4Gi');
    expect(config.postgres.provider).toBe('statefulset');
    expect(config.secrets).toEqual({ provider: 'existing', revision: '1' });
    expect(config.loadBalancer).toMatchObject({ mode: 'l4', provider: 'generic', sourceRanges: [] });
  });

  it('takes hostname overrides', () => {
    const config = parseConfig(variant({ hostnames: { api: 'prefect-api.example.org' } }), FILE, 'test');
    expect(config.hostnames).toEqual({ api: 'prefect-api.example.org', app: 'app.prefect.example.com' });
  });

  it.each(['dev', 'staging', 'prod'])('loads config/%s.yaml', (environment) => {
    const config = loadConfigFile(path.join(PROJECT_ROOT, 'config', `${environment}.yaml`), `config/${environment}.yaml`);
    expect(config.environment).toBe(environment);
  });

  it('gives each shipped environment its intended shape', () => {
    const load = (environment: string) => loadConfigFile(path.join(PROJECT_ROOT, 'config', `${environment}.yaml`));
    const dev = load('dev');
    expect(dev.cluster.nodes).toBe(1);
    expect(dev.tls.mode).toBe('selfsigned');
    expect(dev.prefect.replicas).toBe(1);
    expect(load('staging').tls.mode).toBe('letsencrypt-staging');
    const prod = load('prod');
    expect(prod.tls.mode).toBe('letsencrypt');
    expect(prod.prefect.replicas).toBeGreaterThanOrEqual(2);
    expect(prod.cluster).toMatchObject({ nodes: 3, cpuPerNode: '16', memoryPerNode: '24Gi' });
    expect(prod.cluster.zones).toHaveLength(3);
  });

  it('references the JSON Schema from the first line of every config file', () => {
    for (const file of fs.readdirSync(path.join(PROJECT_ROOT, 'config')).filter((name) => name.endsWith('.yaml'))) {
      expect(fs.readFileSync(path.join(PROJECT_ROOT, 'config', file), 'utf8').split('\n')[0], file).toBe(
        '# yaml-language-server: $schema=./schema.json',
      );
    }
  });
});

describe('invalid configuration', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'prefect-config-'));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('fails on a bad quantity, naming file, field, expectation and value', () => {
    expect(problemsOf(variant({ redis: { cache: { memory: 'lots' } } }))).toEqual([
      'config/test.yaml: redis.cache.memory: expected a Kubernetes quantity above zero, such as "2Gi", got "lots"',
    ]);
  });

  it('fails on a wrong type', () => {
    expect(problemsOf(variant({ cluster: { nodes: 'three' } }))).toEqual([
      'config/test.yaml: cluster.nodes: expected a number, got "three"',
    ]);
  });

  it('fails on a fractional node count', () => {
    expect(problemsOf(variant({ cluster: { nodes: 1.5 } }))).toEqual([
      'config/test.yaml: cluster.nodes: expected an integer, got number 1.5',
    ]);
  });

  it('fails on an unknown key, suggesting the right one', () => {
    expect(problemsOf(variant({ loadBalancer: { sourceRange: ['10.0.0.0/8'] } }))).toEqual([
      'config/test.yaml: loadBalancer.sourceRange: unknown key; did you mean "sourceRanges"?',
    ]);
  });

  it('fails on an unknown top-level key', () => {
    expect(problemsOf(variant({ domian: 'x.example.com' }))).toEqual(['config/test.yaml: domian: unknown key; did you mean "domain"?']);
  });

  it('fails on a bad domain', () => {
    expect(problemsOf(variant({ domain: 'Prefect_Example' }))).toEqual([
      'config/test.yaml: domain: expected a lower-case DNS name such as "prefect.example.com" (labels of at most 63 characters, 253 in all), got "Prefect_Example"',
    ]);
  });

  it('fails on a domain with one label', () => {
    expect(problemsOf(variant({ domain: 'localhost' }))).toEqual([
      'config/test.yaml: domain: expected a lower-case DNS name such as "prefect.example.com" (labels of at most 63 characters, 253 in all), got "localhost"',
    ]);
  });

  it('fails on a bad hostname override', () => {
    expect(problemsOf(variant({ hostnames: { app: 'app..example.com' } }))).toEqual([
      'config/test.yaml: hostnames.app: expected a lower-case DNS name such as "prefect.example.com" (labels of at most 63 characters, 253 in all), got "app..example.com"',
    ]);
  });

  it('fails on identical API and UI hostnames', () => {
    expect(problemsOf(variant({ hostnames: { api: 'prefect.example.com', app: 'prefect.example.com' } }))).toEqual([
      'config/test.yaml: hostnames: expected different hostnames for the API and the UI',
    ]);
  });

  it('fails on a bad ACME e-mail', () => {
    expect(problemsOf(variant({ tls: { mode: 'letsencrypt', email: 'platform-at-example' } }))).toEqual([
      'config/test.yaml: tls.email: expected an e-mail address such as "platform@example.com", got "platform-at-example"',
    ]);
  });

  it('fails on a missing ACME e-mail', () => {
    expect(problemsOf(variant({ tls: { mode: 'letsencrypt-staging' } }))).toEqual([
      'config/test.yaml: tls.email: required: expected a string, got nothing',
    ]);
  });

  it('fails on an unknown TLS mode', () => {
    expect(problemsOf(variant({ tls: { mode: 'acme' } }))).toEqual([
      'config/test.yaml: tls.mode: expected a TLS mode: "letsencrypt", "letsencrypt-staging", "selfsigned" or "existing", got "acme"',
    ]);
  });

  it('fails on an unknown DNS-01 provider', () => {
    expect(
      problemsOf(
        variant({ tls: { mode: 'letsencrypt', email: 'a@example.com', solver: { type: 'dns01', provider: { name: 'godaddy' } } } }),
      ),
    ).toEqual([
      'config/test.yaml: tls.solver.provider.name: expected a DNS-01 provider name: "route53", "cloudDNS", "cloudflare" or "azureDNS", got "godaddy"',
    ]);
  });

  it('fails on replicas below 1', () => {
    expect(problemsOf(variant({ prefect: { replicas: 0 } }))).toEqual([
      'config/test.yaml: prefect.replicas: expected at least 1 replica, got number 0',
    ]);
  });

  it('fails on a gateway whose maximum is below its minimum', () => {
    expect(problemsOf(variant({ mesh: { gateway: { replicas: 3, maxReplicas: 2 } } }))).toEqual([
      'config/test.yaml: mesh.gateway.maxReplicas: expected at least mesh.gateway.replicas (3), got number 2',
    ]);
  });

  it('fails on an unknown load balancer preset', () => {
    expect(problemsOf(variant({ loadBalancer: { provider: 'digitalocean' } }))).toEqual([
      'config/test.yaml: loadBalancer.provider: expected one of "aws", "gcp", "azure", "generic", got "digitalocean"',
    ]);
  });

  it('fails on a bad source range, IPv4 or IPv6, through the one CIDR parser', () => {
    const expected = 'expected a CIDR range such as "203.0.113.0/24" or "2001:db8::/32"';
    expect(
      problemsOf(variant({ loadBalancer: { sourceRanges: ['10.0.0.0/33', '1:2:3:4:5:6:7:8:9/64', '12345::/64', '::/129'] } })),
    ).toEqual([
      `config/test.yaml: loadBalancer.sourceRanges[0]: ${expected}, got "10.0.0.0/33"`,
      `config/test.yaml: loadBalancer.sourceRanges[1]: ${expected}, got "1:2:3:4:5:6:7:8:9/64"`,
      `config/test.yaml: loadBalancer.sourceRanges[2]: ${expected}, got "12345::/64"`,
      `config/test.yaml: loadBalancer.sourceRanges[3]: ${expected}, got "::/129"`,
    ]);
  });

  it('takes source ranges with host bits set, as Kubernetes does for loadBalancerSourceRanges', () => {
    const config = parseConfig(variant({ loadBalancer: { sourceRanges: ['203.0.113.7/24', '2001:db8::1/64'] } }), FILE, 'test');
    expect(config.loadBalancer.sourceRanges).toEqual(['203.0.113.7/24', '2001:db8::1/64']);
  });

  it('fails on the floating image tag "latest"', () => {
    expect(problemsOf(variant({ prefect: { image: { tag: 'latest' } } }))).toEqual([
      'config/test.yaml: prefect.image.tag: expected a pinned image tag, not "latest", got "latest"',
    ]);
  });

  it('fails on a YAML 1.1 boolean word, explaining why', () => {
    expect(problemsOf(`${VALID}mesh:\n  install: yes\n`)).toEqual([
      'config/test.yaml: mesh.install: expected true or false, got "yes" (write true or false: YAML 1.2 reads this word as a string)',
    ]);
  });

  it('fails on an external Postgres without its server', () => {
    expect(problemsOf(variant({ postgres: { provider: 'external' } }))).toEqual([
      'config/test.yaml: postgres.external: required: expected the external server ({host, port, sslMode}) when postgres.provider is "external"',
    ]);
  });

  it('fails on two roles sharing one namespace', () => {
    expect(problemsOf(variant({ namespaces: { data: 'prefect' } }))).toEqual([
      'config/test.yaml: namespaces.data: expected a namespace different from namespaces.prefect, got "prefect"',
    ]);
  });

  it('fails on a bad namespace name', () => {
    expect(problemsOf(variant({ namespaces: { prefect: 'Prefect' } }))).toEqual([
      'config/test.yaml: namespaces.prefect: expected a Kubernetes name: lower-case letters, digits and "-", at most 63 characters, such as "prefect", got "Prefect"',
    ]);
  });

  it('fails on a bad Flux interval', () => {
    expect(problemsOf(variant({ flux: { interval: '10 minutes' } }))).toEqual([
      'config/test.yaml: flux.interval: expected a duration such as "10m" or "2160h", got "10 minutes"',
    ]);
  });

  it('fails on a missing required section', () => {
    expect(problemsOf(variant({ cluster: null }))).toEqual(['config/test.yaml: cluster: required: expected a mapping, got nothing']);
  });

  it('fails on a list where a mapping belongs', () => {
    expect(problemsOf(variant({ redis: ['cache'] }))).toEqual(['config/test.yaml: redis: expected a mapping, got a list']);
  });

  it('fails on an environment that does not match the file name', () => {
    expect(() => parseConfig(VALID, 'config/prod.yaml', 'prod')).toThrow(
      'config/prod.yaml: environment: expected "prod" (the file\'s name), got "test"',
    );
  });

  it('reports every problem of a file at once', () => {
    expect(problemsOf(variant({ redis: { cache: { memory: 'lots' } }, cluster: { nodes: 0 } }))).toHaveLength(2);
  });

  it('fails on duplicate keys, giving the line', () => {
    expect(problemsOf(`${VALID}domain: other.example.com\n`)).toEqual(['config/test.yaml:14:1: YAML syntax error: duplicated mapping key']);
  });

  it('fails on a YAML syntax error, giving the line', () => {
    expect(problemsOf('environment: test\ndomain: [prefect.example.com\ntls: {}\n')[0]).toMatch(
      /^config\/test\.yaml:\d+:\d+: YAML syntax error: /,
    );
  });

  it('fails on an empty file', () => {
    expect(problemsOf('# nothing here\n')).toEqual([
      'config/test.yaml: the file is empty; expected a mapping with at least environment, domain, tls, prefect and cluster',
    ]);
  });

  it('fails on a file that is a list', () => {
    expect(problemsOf('- environment: test\n')).toEqual(['config/test.yaml: expected a mapping at the top level, got a list']);
  });

  it('never echoes a value under a field that holds or names a secret, only its length', () => {
    const secret = 'Not/A/Real/Secret/But/Shaped/Like/One00';
    const problems = problemsOf(variant({ postgres: { provider: 'external', external: { host: 'db.example.com', caSecret: secret } } }));
    expect(problems).toEqual([
      `config/test.yaml: postgres.external.caSecret: expected a Kubernetes object name: lower-case letters, digits, "-" and ".", such as "prefect-postgres", got a string of ${secret.length} characters (not shown: "caSecret" holds or names a secret)`,
    ]);
    expect(problems.join('\n')).not.toContain(secret.slice(0, 8));
    // Under a secret-looking variable name too, whatever the rule that fails.
    const token = 'placeholder-token-value-0123456789abcdef';
    const env = problemsOf(variant({ prefect: { services: { ui: { env: { GITHUB_TOKEN: { secret: token } } } } } }));
    expect(env.length).toBeGreaterThan(0);
    expect(env.join('\n')).not.toContain(token.slice(0, 12));
  });

  it('cuts a long found value to 80 characters and says how long it was', () => {
    const long = `x${'y'.repeat(20_000)}`;
    const [problem] = problemsOf(variant({ redis: { cache: { memory: long } } }));
    expect(problem).toBe(
      `config/test.yaml: redis.cache.memory: expected a Kubernetes quantity above zero, such as "2Gi", got "${long.slice(0, 80)}"… (20001 characters)`,
    );
  });

  it('refuses a configuration file that links outside its folder, without reading it', () => {
    const folder = path.join(tmp, 'linked');
    fs.mkdirSync(folder);
    const outside = path.join(tmp, 'outside.txt');
    fs.writeFileSync(outside, 'root:x:0:0:root:/root:/bin/bash\n');
    fs.symlinkSync(outside, path.join(folder, 'qa.yaml'));
    expect(() => loadConfigFile(path.join(folder, 'qa.yaml'), 'config/qa.yaml')).toThrow(
      new ConfigError([
        `config/qa.yaml: a link to ${fs.realpathSync(outside)}, outside its folder: expected the configuration file itself (or a link to one beside it)`,
      ]),
    );
    // A link to a file beside it is read as that file.
    fs.writeFileSync(path.join(folder, 'base.yaml'), VALID.replace('environment: test', 'environment: qa'));
    fs.symlinkSync(path.join(folder, 'base.yaml'), path.join(folder, 'qa2.yaml'));
    expect(() => loadConfigFile(path.join(folder, 'qa2.yaml'), 'config/qa2.yaml')).toThrow(/environment: expected "qa2"/);
  });

  it('fails on a missing file', () => {
    expect(() => loadConfigFile(path.join(tmp, 'qa.yaml'), 'config/qa.yaml')).toThrow(new ConfigError(['config/qa.yaml: no such file']));
  });
});

describe('replicas and their maximum', () => {
  it('refuses a maximum below the replicas asked for, instead of raising it', () => {
    expect(problemsOf(variant({ prefect: { replicas: 3, maxReplicas: 2 } }))).toEqual([
      'config/test.yaml: prefect.maxReplicas: expected at least prefect.replicas (3), got number 2',
    ]);
    expect(problemsOf(variant({ prefect: { services: { ui: { replicas: 4, maxReplicas: 3 } } } }))).toEqual([
      "config/test.yaml: prefect.services.ui.maxReplicas: expected at least the service's replicas (4), got number 3",
    ]);
    expect(problemsOf(variant({ prefect: { maxReplicas: 2, services: { ui: { replicas: 3 } } } }))).toEqual([
      "config/test.yaml: prefect.services.ui.replicas: expected at most the service's maximum (2, prefect.maxReplicas), or a maxReplicas of its own, got number 3",
    ]);
  });

  it("lets a maximum cap the catalog's replicas", () => {
    const config = parseConfig(variant({ prefect: { maxReplicas: 1, services: { ui: { maxReplicas: 1 } } } }), FILE, 'test');
    expect(config.prefect.maxReplicas).toBe(1);
  });
});

describe('quantities', () => {
  it.each([
    [{ cluster: { cpuPerNode: '-4' } }, 'cluster.cpuPerNode', '16'],
    [{ postgres: { storage: { size: '-20Gi' } } }, 'postgres.storage.size', '100Gi'],
    [{ redis: { cache: { memory: '0' } } }, 'redis.cache.memory', '2Gi'],
  ])('refuses one that is not above zero: %j', (changes, field, example) => {
    expect(problemsOf(variant(changes as Record<string, unknown>))).toEqual([
      `config/test.yaml: ${field}: expected a Kubernetes quantity above zero, such as "${example}", got ${JSON.stringify(Object.values(Object.values(changes)[0] as Record<string, unknown>).flatMap((v) => (typeof v === 'string' ? [v] : Object.values(v as Record<string, string>)))[0])}`,
    ]);
  });

  it.each([
    [
      { postgres: { resources: { requests: { cpu: '1', memory: '1Ei' }, limits: { memory: '1Ei' } } } },
      'postgres.resources.requests.memory',
      'at most 16Ti, such as "1Gi"',
    ],
    [{ postgres: { storage: { size: '1Pi' } } }, 'postgres.storage.size', 'at most 64Ti, such as "100Gi"'],
    [{ cluster: { cpuPerNode: '2000' } }, 'cluster.cpuPerNode', 'at most 1024, such as "16"'],
  ])('refuses one beyond what anything it sizes can have: %j', (changes, field, expected) => {
    expect(problemsOf(variant(changes as Record<string, unknown>))[0]).toMatch(`config/test.yaml: ${field}: expected ${expected}, got`);
  });
});

describe('the domain', () => {
  it('refuses one too long for the api. and app. hostnames made from it, showing 80 characters of it and its length', () => {
    const domain = `${Array.from({ length: 4 }, () => 'a'.repeat(61)).join('.')}.io`;
    expect(domain.length).toBe(250);
    const problems = problemsOf(variant({ domain }));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(
      /^config\/test\.yaml: domain: expected at most 249 characters: the api hostname, api\.<domain>, may have 253 at most \(it has 254\), got "a{61}\.a{18}"… \(250 characters\)$/,
    );
  });
});

describe('configuration problems found while building', () => {
  const errorOf = (changes: Record<string, unknown>) => {
    try {
      buildVariant('dev', changes);
      return undefined;
    } catch (error) {
      return error;
    }
  };

  it('a route to a service turned off is a configuration error naming both', () => {
    const error = errorOf({ prefect: { services: { ui: { enabled: false } } } });
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      'config/dev.yaml: routes: route "ui": expected a backend that runs: "ui" is turned off (prefect.services.ui.enabled: false); remove the route (routes.table) or keep the service',
    ]);
  });

  it('an override of a route that does not exist is a configuration error listing the routes', () => {
    const error = errorOf({ routes: { overrides: { nosuch: { timeout: '30s' } } } });
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems[0]).toMatch(
      /^config\/dev\.yaml: routes\.overrides\.nosuch: expected the name of a route: .*ui.* \(no route is named "nosuch"\)$/,
    );
  });
});

describe('messages that say what is expected', () => {
  it('suggests the key of the TLS mode in use for an unknown key inside tls', () => {
    const problems = problemsOf(variant({ tls: { mode: 'letsencrypt', email: 'a@example.com', emial: 'b@example.com' } }));
    expect(problems).toEqual(['config/test.yaml: tls.emial: unknown key; did you mean "email"?']);
  });

  it('asks for a mapping when tls is a single word', () => {
    expect(problemsOf(variant({ tls: 'selfsigned' }))).toEqual([
      'config/test.yaml: tls: expected a mapping with the TLS mode, such as { mode: selfsigned } (mode: "letsencrypt", "letsencrypt-staging", "selfsigned" or "existing"), got "selfsigned"',
    ]);
  });

  it('points at the line that opens an unclosed bracket', () => {
    const text = VALID.replace('domain: prefect.example.com', 'zones: [a, b\ndomain: prefect.example.com');
    const [problem] = problemsOf(text);
    expect(problem).toMatch(/^config\/test\.yaml:\d+:\d+: YAML syntax error: .* \(line 3 opens a \[ or \{ that it does not close\)$/);
  });

  it('recognises a UTF-16 file and asks for UTF-8', () => {
    const file = path.join(os.tmpdir(), `prefect-utf16-${process.pid}.yaml`);
    for (const bytes of [
      Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(VALID, 'utf16le')]),
      Buffer.from(VALID.trimStart(), 'utf16le'),
    ]) {
      fs.writeFileSync(file, bytes);
      expect(() => loadConfigFile(file, 'config/test.yaml')).toThrow(
        new ConfigError(['config/test.yaml: expected a UTF-8 text file, got UTF-16: save it as UTF-8']),
      );
    }
    fs.rmSync(file);
  });
});

describe('unknown keys in a union', () => {
  it("suggests only keys of the mode in use: none of the Let's Encrypt keys for a self-signed CA", () => {
    const problems = problemsOf(variant({ tls: { mode: 'selfsigned', emial: 'b@example.com' } }));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^config\/test\.yaml: tls\.emial: unknown key; expected one of: /);
    expect(problems[0]).not.toContain('email');
  });
});
