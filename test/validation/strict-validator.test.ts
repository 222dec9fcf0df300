import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Ajv from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { k8s } from 'cdk8s-plus-28';
import { EMITTED_KUBERNETES_KINDS } from '../../lib/validation/emitted-kinds';
import {
  BUNDLE_FOLDER,
  KUBERNETES_VERSIONS,
  loadSchemaBundle,
  type Provenance,
  type SchemaBundle,
  SchemaBundleError,
} from '../../lib/validation/schema-bundle';
import {
  buildSchemaBundle,
  IMPORTED_CRD_FILES,
  KUBERNETES_DOCUMENTS,
  sourcesFromDownloads,
  verifyDownloads,
} from '../../lib/validation/schema-bundle-builder';
import { ecmaScriptPattern, SchemaPreparer } from '../../lib/validation/schema-preparation';
import { describeErrors, formatProblem, StrictValidator, type ValidationProblem } from '../../lib/validation/strict-validator';
import { PROJECT_ROOT } from '../helpers';

const projectRoot = PROJECT_ROOT;
const KUBERNETES_SOURCES = ['kubernetes-1.33', 'kubernetes-1.35'];

const SHARED_SOURCES = path.resolve(projectRoot, '..', 'shared');
let bundle: SchemaBundle;
let validator: StrictValidator;

beforeAll(() => {
  bundle = loadSchemaBundle(projectRoot);
  validator = new StrictValidator(bundle);
});

type Json = Record<string, unknown>;

const labels = { 'app.kubernetes.io/name': 'prefect-server' };
const metadata = { name: 'prefect-server', namespace: 'prefect', labels };

function podSpec(overrides: Json = {}, containerOverrides: Json = {}): Json {
  return {
    automountServiceAccountToken: false,
    securityContext: { runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: 'RuntimeDefault' } },
    containers: [
      {
        name: 'server',
        image: 'prefecthq/prefect:3.4.0-python3.12',
        imagePullPolicy: 'IfNotPresent',
        ports: [{ name: 'http', containerPort: 4200 }],
        env: [{ name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } }],
        resources: { requests: { cpu: '500m', memory: '512Mi' }, limits: { cpu: 1, memory: '2Gi' } },
        readinessProbe: { httpGet: { path: '/api/health', port: 'http' } },
        securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
        ...containerOverrides,
      },
    ],
    ...overrides,
  };
}

function deployment(spec: Json = {}, containerOverrides: Json = {}): Json {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata,
    spec: {
      replicas: 2,
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: podSpec({}, containerOverrides) },
      ...spec,
    },
  };
}

function service(targetPort: unknown): Json {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata,
    spec: { selector: labels, ports: [{ name: 'http', port: 80, targetPort }] },
  };
}

function virtualService(http: Json[], apiVersion = 'networking.istio.io/v1'): Json {
  return {
    apiVersion,
    kind: 'VirtualService',
    metadata,
    spec: { hosts: ['prefect.example.com'], gateways: ['istio-system/public'], http },
  };
}

const route = { match: [{ uri: { prefix: '/api' } }], route: [{ destination: { host: 'prefect-server', port: { number: 80 } } }] };

function kustomization(spec: Json = {}): Json {
  return {
    apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
    kind: 'Kustomization',
    metadata: { name: 'apps', namespace: 'flux-system' },
    spec: { interval: '10m', path: './dist/prod/apps', prune: true, sourceRef: { kind: 'GitRepository', name: 'prefect' }, ...spec },
  };
}

function prometheusRule(partialResponseStrategy: string): Json {
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata,
    spec: {
      groups: [
        {
          name: 'prefect',
          partial_response_strategy: partialResponseStrategy,
          rules: [{ alert: 'PrefectDown', expr: 'up{job="prefect"} == 0', for: '5m' }],
        },
      ],
    },
  };
}

function summary(problems: readonly ValidationProblem[]): string[] {
  return problems.map(formatProblem);
}

/** The problems per source: a core kind must give the same problem in every Kubernetes version. */
function expectInEveryVersion(problems: readonly ValidationProblem[], expected: Partial<ValidationProblem>): void {
  for (const source of KUBERNETES_SOURCES) {
    expect(
      problems.filter((p) => p.source === source),
      source,
    ).toEqual([expect.objectContaining(expected)]);
  }
}

describe('the schema bundle', () => {
  let temporary: string;
  beforeAll(() => {
    temporary = fs.mkdtempSync(path.join(os.tmpdir(), 'strict-validator-'));
  });
  afterAll(() => {
    fs.rmSync(temporary, { recursive: true, force: true });
  });

  /** A copy of the committed bundle in a project folder of its own, to damage. */
  function bundleCopy(name: string): string {
    const project = path.join(temporary, name);
    fs.cpSync(path.join(projectRoot, BUNDLE_FOLDER), path.join(project, BUNDLE_FOLDER), { recursive: true });
    return project;
  }

  it('holds the kinds of Kubernetes 1.33 and 1.35 and every imported CRD, under 2 MB', () => {
    expect(bundle.kubernetes.map((k) => k.label)).toEqual(['1.33', '1.35']);
    expect(Object.keys(bundle.crds)).toEqual(
      expect.arrayContaining(['networking.istio.io/VirtualService', 'cert-manager.io/Certificate', 'postgresql.cnpg.io/Cluster']),
    );
    const size = fs
      .readdirSync(path.join(projectRoot, BUNDLE_FOLDER))
      .reduce((total, file) => total + fs.statSync(path.join(projectRoot, BUNDLE_FOLDER, file)).size, 0);
    expect(size).toBeLessThan(2 * 1024 * 1024);
  });

  it('bundles a schema for every k8s.Kube… class the code uses', () => {
    const sources = fs
      .readdirSync(path.join(projectRoot, 'lib'), { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.ts'));
    const classes = new Set(
      sources.flatMap((file) =>
        [...fs.readFileSync(path.join(projectRoot, 'lib', file), 'utf8').matchAll(/\bk8s\.(Kube[A-Za-z0-9]+)\b/g)].map(
          (match) => match[1] as string,
        ),
      ),
    );
    expect(classes.size).toBeGreaterThan(5);
    for (const name of classes) {
      const gvk = (k8s as unknown as Record<string, { GVK?: { apiVersion: string; kind: string } }>)[name]?.GVK;
      if (gvk === undefined) continue; // props interfaces (KubeDeploymentProps …) are no classes
      expect(EMITTED_KUBERNETES_KINDS, name).toContain(`${gvk.apiVersion}/${gvk.kind}`);
    }
  });

  it('bundles the CRD files that `make imports` imports, no more and no fewer', () => {
    const prefixes = /^CRD_PREFIXES := (.+)$/m
      .exec(fs.readFileSync(path.join(projectRoot, 'Makefile'), 'utf8'))?.[1]
      ?.trim()
      .split(/\s+/);
    expect(IMPORTED_CRD_FILES.map((file) => file.replace(/\.yaml$/, '')).sort()).toEqual([...(prefixes ?? [])].sort());
  });

  it.runIf(fs.existsSync(SHARED_SOURCES))('is what `make schemas` generates from ../shared', () => {
    const read = (local: string) => ({ local, text: fs.readFileSync(path.join(SHARED_SOURCES, local), 'utf8') });
    const files = buildSchemaBundle({
      kubernetes: KUBERNETES_VERSIONS.flatMap((label) => KUBERNETES_DOCUMENTS.map((name) => read(`k8s-openapi/${label}/${name}`))),
      crds: IMPORTED_CRD_FILES.map((name) => read(`crds/${name}`)),
    });
    expect([...files.keys()].sort()).toEqual(fs.readdirSync(path.join(projectRoot, BUNDLE_FOLDER)).sort());
    for (const [name, text] of files)
      expect(text === fs.readFileSync(path.join(projectRoot, BUNDLE_FOLDER, name), 'utf8'), `${BUNDLE_FOLDER}/${name}`).toBe(true);
  });

  it('rebuilds the same bundle from downloads that match the provenance checksums, and refuses others', () => {
    const provenance = JSON.parse(fs.readFileSync(path.join(projectRoot, BUNDLE_FOLDER, 'provenance.json'), 'utf8')) as Provenance;
    // What the pinned URLs serve, reproduced from the bundle's own sources when ../shared is here.
    if (!fs.existsSync(SHARED_SOURCES)) return expect(provenance.documents.length).toBeGreaterThan(20);
    const downloads = new Map<string, string>();
    for (const document of provenance.documents) {
      const text = fs.readFileSync(path.join(SHARED_SOURCES, document.local), 'utf8');
      downloads.set(document.url, document.crds ? `${downloads.get(document.url) ?? ''}\n${text}` : text);
    }
    expect(verifyDownloads(provenance, downloads)).toEqual([]);
    const rebuilt = buildSchemaBundle(sourcesFromDownloads(provenance, downloads));
    for (const [name, text] of rebuilt)
      expect(text === fs.readFileSync(path.join(projectRoot, BUNDLE_FOLDER, name), 'utf8'), name).toBe(true);

    const first = provenance.documents[0] as { url: string };
    const tampered = new Map(downloads).set(first.url, `${downloads.get(first.url)} `);
    expect(verifyDownloads(provenance, tampered)).toEqual([
      expect.stringMatching(/^https:.*: sha256 [0-9a-f]{64}, expected [0-9a-f]{64}$/),
    ]);
    const crdDocument = provenance.documents.find((document) => document.crds !== undefined) as { url: string };
    const changedSpec = new Map(downloads).set(
      crdDocument.url,
      (downloads.get(crdDocument.url) as string).replace(/type: object/, 'type: string'),
    );
    expect(verifyDownloads(provenance, changedSpec)).toEqual([expect.stringContaining('differs from the one bundled')]);
  });

  it('fails with one line naming a missing file and the repair', () => {
    const project = bundleCopy('missing');
    fs.rmSync(path.join(project, BUNDLE_FOLDER, 'crds.json'));
    expect(() => loadSchemaBundle(project)).toThrow(SchemaBundleError);
    expect(() => loadSchemaBundle(project)).toThrow(
      /^schemas\/crds\.json: the schema bundle file is missing; restore it with `git checkout -- schemas\/` or regenerate it with `make schemas`$/,
    );
    expect(() => loadSchemaBundle(path.join(temporary, 'nothing'))).toThrow(
      /^schemas\/provenance\.json: the schema bundle file is missing/,
    );
  });

  it('fails on a damaged file (one changed byte, a truncation) before parsing it', () => {
    const project = bundleCopy('damaged');
    const file = path.join(project, BUNDLE_FOLDER, 'kubernetes-1.35.json');
    const text = fs.readFileSync(file, 'utf8');
    fs.writeFileSync(file, text.replace('"integer"', '"string"'));
    expect(() => loadSchemaBundle(project)).toThrow(
      /^schemas\/kubernetes-1\.35\.json: damaged \(its sha256 differs from schemas\/provenance\.json\); restore it/,
    );
    fs.writeFileSync(file, text.slice(0, text.length / 2));
    expect(() => loadSchemaBundle(project)).toThrow(/^schemas\/kubernetes-1\.35\.json: damaged/);
    fs.writeFileSync(path.join(project, BUNDLE_FOLDER, 'provenance.json'), '{"files": ');
    expect(() => loadSchemaBundle(project)).toThrow(/^schemas\/provenance\.json: not valid JSON/);
  });
});

describe('core kinds, validated against Kubernetes 1.33 and 1.35', () => {
  const valid: Record<string, Json> = {
    Deployment: deployment(),
    Service: service('http'),
    Namespace: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'prefect', labels: { 'istio-injection': 'enabled' } } },
    ConfigMap: { apiVersion: 'v1', kind: 'ConfigMap', metadata, data: { 'prefect.toml': '[server]\nport = 4200\n' } },
    Job: {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata,
      spec: { backoffLimit: 3, ttlSecondsAfterFinished: 600, template: { spec: podSpec({ restartPolicy: 'OnFailure' }) } },
    },
    StatefulSet: {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata,
      spec: {
        serviceName: 'redis',
        replicas: 1,
        selector: { matchLabels: labels },
        template: { metadata: { labels }, spec: podSpec() },
        volumeClaimTemplates: [
          { metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '8Gi' } } } },
        ],
      },
    },
    HorizontalPodAutoscaler: {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata,
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'prefect-server' },
        minReplicas: 2,
        maxReplicas: 6,
        metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }],
      },
    },
    PodDisruptionBudget: {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata,
      spec: { maxUnavailable: 1, selector: { matchLabels: labels }, unhealthyPodEvictionPolicy: 'AlwaysAllow' },
    },
    NetworkPolicy: {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata,
      spec: {
        podSelector: { matchLabels: labels },
        policyTypes: ['Ingress'],
        ingress: [
          {
            from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'istio-ingress' } } }],
            ports: [{ port: 'http', protocol: 'TCP' }, { port: 4200 }],
          },
        ],
      },
    },
  };

  for (const [kind, object] of Object.entries(valid)) {
    it(`passes a valid ${kind}`, () => {
      expect(object.kind).toBe(kind);
      expect(summary(validator.validate(object))).toEqual([]);
    });
  }

  it('validates against both versions: a kind new in 1.34 is unknown to 1.33, and not bundled for 1.35', () => {
    const volumeAttributesClass = {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'VolumeAttributesClass',
      metadata: { name: 'fast' },
      driverName: 'ebs.csi.aws.com',
      parameters: { iops: '3000' },
    };
    expect(validator.validate(volumeAttributesClass)).toEqual([
      expect.objectContaining({
        source: 'kubernetes-1.33',
        message: 'unknown apiVersion/kind storage.k8s.io/v1/VolumeAttributesClass in Kubernetes 1.33',
      }),
      expect.objectContaining({
        source: 'kubernetes-1.35',
        message:
          'storage.k8s.io/v1/VolumeAttributesClass is not in the schema bundle: add it to lib/validation/emitted-kinds.ts and run `make schemas`',
      }),
    ]);
  });

  it('fails a typo deep inside, with its path', () => {
    const problems = validator.validate(deployment({}, { imagePullPolicyy: 'Always' }));
    expectInEveryVersion(problems, {
      path: 'spec.template.spec.containers[0].imagePullPolicyy',
      message: 'unknown field "imagePullPolicyy"',
      kind: 'Deployment',
      name: 'prefect-server',
      namespace: 'prefect',
    });
  });

  it('fails an unknown top-level field and an unknown metadata field', () => {
    const object = { ...deployment(), status2: {}, metadata: { ...metadata, label: { a: 'b' } } };
    const problems = validator.validate(object).filter((p) => p.source === 'kubernetes-1.33');
    expect(problems.map((p) => `${p.path}: ${p.message}`).sort()).toEqual([
      'metadata.label: unknown field "label"',
      'status2: unknown field "status2"',
    ]);
  });

  it('fails a wrong type (replicas: "3")', () => {
    expectInEveryVersion(validator.validate(deployment({ replicas: '3' })), {
      path: 'spec.replicas',
      message: 'expected integer, got string "3"',
    });
  });

  it('fails a label value that is not a string, quoting the odd key', () => {
    const object = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', labels: { 'app.kubernetes.io/version': 3 } } };
    expectInEveryVersion(validator.validate(object), {
      path: 'metadata.labels["app.kubernetes.io/version"]',
      message: 'expected string, got integer 3',
    });
  });

  it('fails an unknown kind', () => {
    const problems = validator.validate({ apiVersion: 'apps/v1', kind: 'Deploymnt', metadata: { name: 'x' } });
    expect(problems).toHaveLength(1);
    expect(problems[0]?.message).toMatch(/^unknown apiVersion\/kind apps\/v1\/Deploymnt/);
  });

  it('fails an unknown apiVersion of a known kind and an unknown group', () => {
    expect(validator.validate({ apiVersion: 'apps/v2', kind: 'Deployment', metadata: { name: 'x' } })).toEqual([
      expect.objectContaining({ message: 'unknown apiVersion/kind apps/v2/Deployment' }),
    ]);
    const problems = validator.validate({ apiVersion: 'widgets.example.com/v1', kind: 'Widget', metadata: { name: 'x' } });
    expect(problems).toEqual([
      expect.objectContaining({
        source: 'schemas',
        message: expect.stringMatching(/^unknown apiVersion\/kind widgets\.example\.com\/v1\/Widget/),
      }),
    ]);
  });

  it('fails something that is not an object or has no kind', () => {
    expect(validator.validate('apiVersion: v1')).toHaveLength(1);
    expect(validator.validate({ apiVersion: 'v1', metadata: { name: 'x' } })).toEqual([
      expect.objectContaining({ name: 'x', message: 'apiVersion and kind must be non-empty strings' }),
    ]);
  });

  describe('quantities', () => {
    const withResources = (resources: Json): Json => deployment({}, { resources });

    it('passes 2Gi, 500m, 1 (number), "1", 1.5, 129e6', () => {
      const resources = { requests: { memory: '2Gi', cpu: '500m' }, limits: { cpu: 1, memory: '129e6', 'ephemeral-storage': 1.5 } };
      expect(summary(validator.validate(withResources(resources)))).toEqual([]);
      expect(summary(validator.validate(withResources({ requests: { cpu: '1' } })))).toEqual([]);
    });

    it('fails memory: lots with one problem per version', () => {
      expectInEveryVersion(validator.validate(withResources({ requests: { memory: 'lots' } })), {
        path: 'spec.template.spec.containers[0].resources.requests.memory',
        message: expect.stringMatching(/^"lots" is not a quantity/),
      });
    });

    it('fails 2 GB (a space, a non-Kubernetes suffix) and a boolean', () => {
      expectInEveryVersion(validator.validate(withResources({ limits: { memory: '2 GB' } })), {
        message: expect.stringMatching(/^"2 GB" is not a quantity/),
      });
      expectInEveryVersion(validator.validate(withResources({ limits: { memory: true } })), {
        message: 'expected string or number, got boolean true',
      });
    });
  });

  describe('int-or-string', () => {
    it('passes targetPort: http and targetPort: 8080', () => {
      expect(summary(validator.validate(service('http')))).toEqual([]);
      expect(summary(validator.validate(service(8080)))).toEqual([]);
    });

    it('fails targetPort: true with exactly one problem per version (duplicate errors collapsed)', () => {
      const problems = validator.validate(service(true));
      expect(problems).toHaveLength(2);
      expectInEveryVersion(problems, {
        path: 'spec.ports[0].targetPort',
        message: 'expected integer or string, got boolean true',
      });
    });
  });

  describe('schema preparation walks the structure, never key names (JSONSchemaProps has fields named $ref, properties, allOf, description)', () => {
    /** A validator over one hand-made kind, prepared as the bundle builder prepares upstream schemas. */
    function validatorOf(schema: Json): StrictValidator {
      new SchemaPreparer({ crd: false }).prepare(schema);
      return new StrictValidator({
        id: 'widgets',
        kubernetes: [{ label: '1.33', kinds: { 'example.com/v1/Widget': 'Widget' }, schemas: { Widget: schema } }],
        crds: {},
      });
    }
    const widgetSchema = (): Json => ({
      type: 'object',
      description: 'a widget',
      properties: {
        apiVersion: { type: 'string' },
        kind: { type: 'string' },
        spec: {
          type: 'object',
          required: ['properties'],
          properties: {
            properties: { type: 'string', description: 'a field literally named properties' },
            allOf: { type: 'array', items: { type: 'string' } },
            $ref: { type: 'string' },
            description: { type: 'object', properties: { text: { type: 'string' } } },
            size: { format: 'int-or-string', oneOf: [{ type: 'integer' }, { type: 'string' }] },
            extra: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
          },
        },
      },
    });
    const widget = (spec: Json): Json => ({ apiVersion: 'example.com/v1', kind: 'Widget', spec });

    it('passes fields named "properties", "allOf", "$ref" and "description", and keeps the field named description', () => {
      const schema = widgetSchema();
      const widgets = validatorOf(schema);
      expect(
        summary(
          widgets.validate(widget({ properties: 'p', allOf: ['a'], $ref: 'r', description: { text: 't' }, size: 3, extra: { any: 1 } })),
        ),
      ).toEqual([]);
      expect(JSON.stringify(schema)).not.toContain('a widget');
      expect(JSON.stringify(schema)).not.toContain('literally');
    });

    it('closes objects at every level, the field named description included', () => {
      const widgets = validatorOf(widgetSchema());
      expect(summary(widgets.validate(widget({ properties: 'p', description: { txt: 't' }, typo: 1 })))).toEqual([
        'kubernetes-1.33: Widget/<unnamed>: spec.typo: unknown field "typo"',
        'kubernetes-1.33: Widget/<unnamed>: spec.description.txt: unknown field "txt"',
      ]);
      expect(summary(widgets.validate(widget({ properties: 'p', size: true })))).toEqual([
        'kubernetes-1.33: Widget/<unnamed>: spec.size: expected integer or string, got boolean true',
      ]);
    });
  });
});

describe('custom resources, validated against their CRD', () => {
  it('passes a valid Istio VirtualService (whose CRD schema lists no apiVersion, kind or metadata)', () => {
    expect(summary(validator.validate(virtualService([route])))).toEqual([]);
  });

  it('fails an unknown field in spec.http[0]', () => {
    expect(validator.validate(virtualService([{ ...route, retriez: { attempts: 3 } }]))).toEqual([
      expect.objectContaining({
        source: 'crd:istio.yaml',
        path: 'spec.http[0].retriez',
        message: 'unknown field "retriez"',
      }),
    ]);
  });

  it('validates metadata of a custom resource as ObjectMeta', () => {
    const object = { ...virtualService([route]), metadata: { ...metadata, annotation: { a: 'b' } } };
    expect(validator.validate(object)).toEqual([
      expect.objectContaining({ path: 'metadata.annotation', message: 'unknown field "annotation"' }),
    ]);
  });

  it('accepts versions the CRD serves (v1beta1 of VirtualService) and rejects those it does not serve', () => {
    expect(summary(validator.validate(virtualService([route], 'networking.istio.io/v1beta1')))).toEqual([]);
    const externalSecret = {
      apiVersion: 'external-secrets.io/v1beta1',
      kind: 'ExternalSecret',
      metadata,
      spec: { secretStoreRef: { kind: 'ClusterSecretStore', name: 'vault' }, target: { name: 'db' } },
    };
    expect(validator.validate(externalSecret)).toEqual([
      expect.objectContaining({
        source: 'crd:external-secrets.yaml',
        message: 'external-secrets.io/v1beta1 is not served by the ExternalSecret CRD (served: v1)',
      }),
    ]);
    expect(summary(validator.validate({ ...externalSecret, apiVersion: 'external-secrets.io/v1' }))).toEqual([]);
  });

  it('fails a version the CRD does not have and an unknown kind of a CRD group', () => {
    expect(validator.validate(virtualService([route], 'networking.istio.io/v2'))).toEqual([
      expect.objectContaining({ message: expect.stringMatching(/^networking\.istio\.io\/v2 is not a version of the VirtualService CRD/) }),
    ]);
    expect(validator.validate({ ...virtualService([route]), kind: 'VirtualServise' })).toEqual([
      expect.objectContaining({
        source: 'crd:istio.yaml',
        message: 'unknown apiVersion/kind networking.istio.io/v1/VirtualServise',
      }),
    ]);
  });

  it('passes a valid Flux Kustomization and fails a typo', () => {
    expect(summary(validator.validate(kustomization({ dependsOn: [{ name: 'infra' }], wait: true })))).toEqual([]);
    expect(validator.validate(kustomization({ prunee: true }))).toEqual([
      expect.objectContaining({ source: 'crd:flux-kustomize.yaml', path: 'spec.prunee', message: 'unknown field "prunee"' }),
    ]);
  });

  it('fails a Kustomization without a required field', () => {
    const object = kustomization();
    delete (object.spec as Json).prune;
    expect(validator.validate(object)).toEqual([
      expect.objectContaining({ path: 'spec.prune', message: 'missing required field "prune"' }),
    ]);
  });

  it('passes a valid cert-manager Certificate', () => {
    const certificate = {
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      metadata,
      spec: {
        secretName: 'prefect-tls',
        dnsNames: ['prefect.example.com'],
        duration: '2160h',
        renewBefore: '360h',
        issuerRef: { group: 'cert-manager.io', kind: 'ClusterIssuer', name: 'letsencrypt' },
        privateKey: { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Always' },
      },
    };
    expect(summary(validator.validate(certificate))).toEqual([]);
    expect(validator.validate({ ...certificate, spec: { ...certificate.spec, privateKey: { algorithm: 'DSA' } } })).toEqual([
      expect.objectContaining({ path: 'spec.privateKey.algorithm', message: expect.stringMatching(/^unsupported value "DSA"/) }),
    ]);
  });

  it('passes arbitrary keys under x-kubernetes-preserve-unknown-fields (HelmRelease spec.values)', () => {
    const helmRelease = {
      apiVersion: 'helm.toolkit.fluxcd.io/v2',
      kind: 'HelmRelease',
      metadata,
      spec: {
        interval: '10m',
        chart: { spec: { chart: 'redis', version: '20.1.0', sourceRef: { kind: 'HelmRepository', name: 'bitnami' } } },
        values: { architecture: 'standalone', anyKey: { nested: [1, 'two', { three: true }] } },
      },
    };
    expect(summary(validator.validate(helmRelease))).toEqual([]);
    expect(validator.validate({ ...helmRelease, spec: { ...helmRelease.spec, valuez: {} } })).toEqual([
      expect.objectContaining({ path: 'spec.valuez', message: 'unknown field "valuez"' }),
    ]);
  });

  it('translates the RE2 (?i) flag: case-insensitive partial_response_strategy passes, other values fail', () => {
    expect(summary(validator.validate(prometheusRule('ABORT')))).toEqual([]);
    expect(summary(validator.validate(prometheusRule('Warn')))).toEqual([]);
    expect(validator.validate(prometheusRule('ignore'))).toEqual([
      expect.objectContaining({
        path: 'spec.groups[0].partial_response_strategy',
        message: '"ignore" does not match pattern ^([aA][bB][oO][rR][tT]|[wW][aA][rR][nN])?$',
      }),
    ]);
  });

  it('gives one problem for a bad int-or-string and a bad quantity in a CRD', () => {
    const serviceMonitor = {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'ServiceMonitor',
      metadata,
      spec: { selector: { matchLabels: labels }, endpoints: [{ targetPort: 'http' }, { targetPort: 9090 }, { targetPort: true }] },
    };
    expect(validator.validate(serviceMonitor)).toEqual([
      expect.objectContaining({ path: 'spec.endpoints[2].targetPort', message: 'expected integer or string, got boolean true' }),
    ]);
    const cluster = {
      apiVersion: 'postgresql.cnpg.io/v1',
      kind: 'Cluster',
      metadata,
      spec: { instances: 3, storage: { size: '10Gi' }, resources: { requests: { cpu: '500m', memory: 'lots' } } },
    };
    expect(validator.validate(cluster)).toEqual([
      expect.objectContaining({ path: 'spec.resources.requests.memory', message: expect.stringMatching(/^"lots" is not a quantity/) }),
    ]);
  });

  it('names the fields of an Istio oneOf when several are set, once', () => {
    const destinationRule = (loadBalancer: Json): Json => ({
      apiVersion: 'networking.istio.io/v1',
      kind: 'DestinationRule',
      metadata,
      spec: { host: 'prefect-server', trafficPolicy: { loadBalancer } },
    });
    expect(summary(validator.validate(destinationRule({ simple: 'LEAST_REQUEST' })))).toEqual([]);
    expect(validator.validate(destinationRule({ simple: 'LEAST_REQUEST', consistentHash: { useSourceIp: true } }))).toEqual([
      expect.objectContaining({
        path: 'spec.trafficPolicy.loadBalancer',
        message: 'must set at most one of "simple", "consistentHash"',
      }),
    ]);
  });

  it('honours nullable: true (Istio localityLbSetting.enabled) but not a wrong type', () => {
    const destinationRule = (enabled: unknown): Json => ({
      apiVersion: 'networking.istio.io/v1',
      kind: 'DestinationRule',
      metadata,
      spec: { host: 'prefect-server', trafficPolicy: { loadBalancer: { localityLbSetting: { enabled } } } },
    });
    expect(summary(validator.validate(destinationRule(null)))).toEqual([]);
    expect(summary(validator.validate(destinationRule(true)))).toEqual([]);
    expect(validator.validate(destinationRule('yes'))).toEqual([
      expect.objectContaining({ message: 'expected boolean, got string "yes"' }),
    ]);
  });

  it('fails fields under an object schema without fields, which the API server would prune', () => {
    const cluster = {
      apiVersion: 'postgresql.cnpg.io/v1',
      kind: 'Cluster',
      metadata,
      spec: {
        instances: 1,
        ephemeralVolumeSource: { volumeClaimTemplate: { metadata: { labels }, spec: { accessModes: ['ReadWriteOnce'] } } },
      },
    };
    expect(validator.validate(cluster)).toEqual([
      expect.objectContaining({
        path: 'spec.ephemeralVolumeSource.volumeClaimTemplate.metadata.labels',
        message: 'unknown field "labels"',
      }),
    ]);
  });
});

describe('ecmaScriptPattern (RE2 → ECMAScript, at bundle time)', () => {
  it('spells (?i) as both cases, outside and inside classes, leaving escapes alone', () => {
    expect(ecmaScriptPattern('^(?i)(abort|warn)?$')).toBe('^([aA][bB][oO][rR][tT]|[wW][aA][rR][nN])?$');
    expect(ecmaScriptPattern('(?i)[a-c]\\d+x')).toBe('[aA-cC]\\d+[xX]');
    expect(new RegExp(ecmaScriptPattern('(?i:on|off)'), 'u').test('OFF')).toBe(true);
  });

  it('renames (?P<name> groups and keeps plain patterns as they are', () => {
    expect(ecmaScriptPattern('^(?P<major>[0-9]+)$')).toBe('^(?<major>[0-9]+)$');
    expect(ecmaScriptPattern('^[a-z0-9]+(?:[.+_-][a-z0-9]+)*$')).toBe('^[a-z0-9]+(?:[.+_-][a-z0-9]+)*$');
  });

  it('fails on RE2 flags that have no rewrite', () => {
    expect(() => ecmaScriptPattern('(?s)a.b')).toThrow(/RE2 flags \(\?s\) have no ECMAScript pattern equivalent/);
  });
});

describe('describeErrors (collapsing anyOf/oneOf errors, independent of the schema rewrites)', () => {
  const validate = new Ajv({ allErrors: true }).compile({
    type: 'object',
    properties: {
      port: { oneOf: [{ type: 'integer' }, { type: 'string', pattern: '^[a-z]+$' }] },
      source: { type: 'object', anyOf: [{ required: ['url'] }, { required: ['secretRef'] }] },
    },
  });
  const problems = (data: unknown): string[] => {
    expect(validate(data)).toBe(false);
    return describeErrors(validate.errors ?? [], data).map((p) => `${p.path}: ${p.message}`);
  };

  it('merges the type errors of all branches into one', () => {
    expect(problems({ port: true })).toEqual(['port: expected integer or string, got boolean true']);
  });

  it('keeps the error of the branch whose type matched', () => {
    expect(problems({ port: 'HTTP' })).toEqual(['port: "HTTP" does not match pattern ^[a-z]+$']);
  });

  it('turns branches that each require a field into one "set one of"', () => {
    expect(problems({ source: {} })).toEqual(['source: must set at least one of "url", "secretRef"']);
  });
});

describe('validateAll and formatProblem', () => {
  it('collects the problems of every object', () => {
    const problems = validator.validateAll([service('http'), service(true), kustomization({ prunee: true })]);
    expect(problems.map((p) => p.source)).toEqual([...KUBERNETES_SOURCES, 'crd:flux-kustomize.yaml']);
  });

  it('formats one line per problem, with or without a namespace', () => {
    const [namespaced] = validator.validate(deployment({ replicas: '3' }));
    expect(formatProblem(namespaced!)).toBe(
      'kubernetes-1.33: Deployment/prefect/prefect-server: spec.replicas: expected integer, got string "3"',
    );
    const [clusterScoped] = validator.validate({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'prefect' }, spek: {} });
    expect(formatProblem(clusterScoped!)).toBe('kubernetes-1.33: Namespace/prefect: spek: unknown field "spek"');
    const [unnamed] = validator.validate({ apiVersion: 'apps/v1', kind: 'Deploymnt' });
    expect(formatProblem(unnamed!)).toMatch(/^kubernetes-1\.33: Deploymnt\/<unnamed>: \(root\): unknown apiVersion\/kind/);
  });
});
