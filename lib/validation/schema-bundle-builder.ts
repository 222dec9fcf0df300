/**
 * Builds the schema bundle (see schema-bundle.ts) from the upstream documents: the Kubernetes
 * OpenAPI v3 documents of each supported version and the imported CRD files. Pure: the caller
 * reads the documents (from the shared copies or the pinned URLs) and writes the result.
 */
import * as yaml from 'js-yaml';
import { EMITTED_KUBERNETES_KINDS } from './emitted-kinds';
import {
  type CrdBundleKind,
  type CrdBundleVersion,
  CLUSTER_CRDS_FILE,
  CRDS_FILE,
  KUBERNETES_VERSIONS,
  type KubernetesBundle,
  kubernetesBundleFile,
  PROVENANCE_FILE,
  type Provenance,
  sha256,
  stringifyBundleFile,
  type UpstreamDocument,
} from './schema-bundle';
import {
  COMPONENTS_PREFIX,
  forEachSubschema,
  isObject,
  kubernetesDocumentId,
  OBJECT_META_COMPONENT,
  prepareCustomResourceRoot,
  prepareQuantity,
  QUANTITY_COMPONENT,
  reachableComponents,
  type SchemaObject,
  SchemaPreparer,
} from './schema-preparation';

/** The imported CRD files (`make imports` reads the same ones), in the shared sources' `crds/`. */
export const IMPORTED_CRD_FILES: readonly string[] = [
  'istio.yaml',
  'cert-manager.yaml',
  'trust-manager.yaml',
  'flux-source.yaml',
  'flux-helm.yaml',
  'flux-kustomize.yaml',
  'external-secrets.yaml',
  'cloudnative-pg.yaml',
  'barman-cloud.yaml',
  'prometheus-operator.yaml',
  'keda.yaml',
];

/** The OpenAPI v3 documents per Kubernetes version, by upstream file name. */
export const KUBERNETES_DOCUMENTS: readonly string[] = [
  'api__v1_openapi.json',
  'apis__apps__v1_openapi.json',
  'apis__batch__v1_openapi.json',
  'apis__autoscaling__v2_openapi.json',
  'apis__policy__v1_openapi.json',
  'apis__networking.k8s.io__v1_openapi.json',
  'apis__rbac.authorization.k8s.io__v1_openapi.json',
  'apis__scheduling.k8s.io__v1_openapi.json',
  'apis__storage.k8s.io__v1_openapi.json',
  'apis__apiextensions.k8s.io__v1_openapi.json',
];

/**
 * The pinned origin of the Kubernetes documents: kubectl-validate's verbatim copies of
 * `api/openapi-spec/v3` of the release branches (see the shared k8s-openapi/SOURCES.md).
 */
const KUBECTL_VALIDATE =
  'https://raw.githubusercontent.com/kubernetes-sigs/kubectl-validate/a97ccfaca20b164819afdae780392496f6ed6bbd/pkg/openapiclient/builtins';

function kubernetesDocumentUrl(label: string, file: string): string {
  // api__v1_openapi.json → api/v1.json; apis__apps__v1_openapi.json → apis/apps/v1.json
  return `${KUBECTL_VALIDATE}/${label}/${file
    .replace(/_openapi\.json$/, '')
    .split('__')
    .join('/')}.json`;
}

export interface SourceText {
  /** Path inside the sources folder, e.g. `crds/istio.yaml`. */
  readonly local: string;
  readonly text: string;
}

export interface BundleSources {
  readonly kubernetes: readonly SourceText[];
  readonly crds: readonly SourceText[];
}

/** The bundle's files, by name, ready to write. */
export type BundleFiles = Map<string, string>;

/** sha256 of the canonical JSON (keys sorted) of a value: independent of YAML layout and comments. */
function canonicalSha256(value: unknown): string {
  const canonical = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(canonical);
    if (isObject(v))
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((key) => [key, canonical(v[key])]),
      );
    return v;
  };
  return sha256(JSON.stringify(canonical(value)));
}

function fail(local: string, message: string): never {
  throw new Error(`${local}: ${message}`);
}

function buildKubernetes(label: string, documents: readonly SourceText[]): KubernetesBundle {
  // Same-named schemas in different documents of one version are identical: merge them.
  const schemas: Record<string, SchemaObject> = {};
  const kinds: Record<string, string> = {};
  for (const { local, text } of documents) {
    const document: unknown = JSON.parse(text);
    const components = isObject(document) && isObject(document.components) ? document.components.schemas : undefined;
    if (!isObject(components)) fail(local, 'not an OpenAPI v3 document (no components.schemas)');
    for (const [name, schema] of Object.entries(components)) {
      if (!(name in schemas) && isObject(schema)) schemas[name] = schema;
    }
  }
  for (const [name, schema] of Object.entries(schemas)) {
    const gvks = schema['x-kubernetes-group-version-kind'];
    // Shared types (DeleteOptions, WatchEvent, ...) list many kinds; only one entry names a kind.
    if (Array.isArray(gvks) && gvks.length === 1 && isObject(gvks[0])) {
      const { group, version, kind } = gvks[0] as { group: string; version: string; kind: string };
      kinds[`${group === '' ? version : `${group}/${version}`}/${kind}`] = name;
    }
  }

  prepareQuantity(schemas[QUANTITY_COMPONENT]);
  const preparer = new SchemaPreparer({ crd: false });
  for (const schema of Object.values(schemas)) preparer.prepare(schema);

  // Only what the emitted kinds (and custom resources' ObjectMeta) reach.
  const roots = EMITTED_KUBERNETES_KINDS.filter((key) => key in kinds).map((key) => kinds[key] as string);
  const reached = reachableComponents([...roots, OBJECT_META_COMPONENT], schemas, `kubernetes ${label}`);
  const sortedKinds = Object.fromEntries(Object.entries(kinds).sort(([a], [b]) => (a < b ? -1 : 1)));
  const bundled = Object.fromEntries([...reached].sort().map((name) => [name, schemas[name] as SchemaObject]));
  return { label, kinds: sortedKinds, schemas: bundled };
}

interface ParsedCrd {
  readonly name: string;
  readonly group: string;
  readonly kind: string;
  readonly spec: SchemaObject;
}

function parseCrds({ local, text }: SourceText): ParsedCrd[] {
  const crds: ParsedCrd[] = [];
  for (const document of yaml.loadAll(text, { filename: local })) {
    if (!isObject(document) || document.kind !== 'CustomResourceDefinition') continue;
    const spec = isObject(document.spec) ? document.spec : fail(local, 'a CustomResourceDefinition without spec');
    const names = isObject(spec.names) ? spec.names : {};
    const metadata = isObject(document.metadata) ? document.metadata : {};
    if (
      typeof spec.group !== 'string' ||
      typeof names.kind !== 'string' ||
      typeof metadata.name !== 'string' ||
      !Array.isArray(spec.versions)
    ) {
      fail(local, 'a CustomResourceDefinition without metadata.name, spec.group, spec.names.kind or spec.versions');
    }
    crds.push({ name: metadata.name, group: spec.group, kind: names.kind, spec });
  }
  return crds;
}

/**
 * The upstream origin of each CRD, from the `repo @ tag : path` lines that head each shared CRD
 * file. Helm templates are not YAML: the same repository's `deploy/crds/` holds the same spec
 * (the shared crds/SOURCES.md says so for cert-manager and trust-manager).
 */
function crdOrigins({ local, text }: SourceText, crds: readonly ParsedCrd[]): string[] {
  const lines = [...text.matchAll(/^#\s+([\w.-]+\/[\w.-]+) @ (\S+) : (\S+)\s*$/gm)].map(([, repository, tag, file]) => {
    const plain = (file as string).replace(/^deploy\/charts\/[\w-]+\/templates\/crd-/, 'deploy/crds/');
    return `https://raw.githubusercontent.com/${repository}/${tag}/${plain}`;
  });
  if (lines.length === 1) return crds.map(() => lines[0] as string);
  if (lines.length !== crds.length) fail(local, `names ${lines.length} upstream files for ${crds.length} CRDs`);
  return crds.map((crd, index) => {
    const url = lines[index] as string;
    const plural = crd.name.slice(0, crd.name.indexOf('.'));
    if (!url.includes(`_${plural}.yaml`)) fail(local, `the upstream file ${url} does not look like the source of ${crd.name}`);
    return url;
  });
}

/**
 * A CustomResourceDefinition as the charts install it, for the tests' API server: the upstream
 * spec whole (defaults, CEL rules, subresources, conversion) but for the schemas' descriptions.
 */
function clusterCrd(crd: ParsedCrd): Record<string, unknown> {
  const spec = structuredClone(crd.spec);
  for (const version of Array.isArray(spec.versions) ? spec.versions : []) {
    const validation = isObject(version) && isObject(version.schema) ? version.schema.openAPIV3Schema : undefined;
    forEachSubschema(validation, (subschema) => {
      if (typeof subschema.description === 'string') delete subschema.description;
    });
  }
  return { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: crd.name }, spec };
}

function buildCrds(files: readonly SourceText[]): {
  crds: Record<string, CrdBundleKind>;
  clusterCrds: Record<string, unknown>[];
  documents: UpstreamDocument[];
} {
  const objectMetaRef = `${kubernetesDocumentId(KUBERNETES_VERSIONS[0] as string)}${COMPONENTS_PREFIX}${OBJECT_META_COMPONENT}`;
  const crds: Record<string, CrdBundleKind> = {};
  const clusterCrds: Record<string, unknown>[] = [];
  const byUrl = new Map<string, { local: string; crds: Array<{ name: string; specSha256: string }> }>();
  for (const file of files) {
    const source = `crd:${file.local.slice(file.local.lastIndexOf('/') + 1)}`;
    const parsed = parseCrds(file);
    const origins = crdOrigins(file, parsed);
    parsed.forEach((crd, index) => {
      const url = origins[index] as string;
      const entry = byUrl.get(url) ?? { local: file.local, crds: [] };
      entry.crds.push({ name: crd.name, specSha256: canonicalSha256(crd.spec) });
      byUrl.set(url, entry);
      clusterCrds.push(clusterCrd(crd));

      const preparer = new SchemaPreparer({ crd: true, objectMetaRef });
      const versions: Record<string, CrdBundleVersion> = {};
      for (const version of crd.spec.versions as unknown[]) {
        if (!isObject(version) || typeof version.name !== 'string' || version.name in versions) continue;
        const validation = isObject(version.schema) ? version.schema.openAPIV3Schema : undefined;
        // No schema: Kubernetes keeps every field.
        const schema: SchemaObject = isObject(validation) ? structuredClone(validation) : { type: 'object' };
        if (isObject(validation)) prepareCustomResourceRoot(schema, objectMetaRef, preparer);
        versions[version.name] = { served: version.served === true, schema };
      }
      crds[`${crd.group}/${crd.kind}`] = { source, versions };
    });
  }
  const documents = [...byUrl].map(([url, { local, crds: taken }]) => ({ local, url, crds: taken }));
  return { crds: Object.fromEntries(Object.entries(crds).sort(([a], [b]) => (a < b ? -1 : 1))), clusterCrds, documents };
}

const PROVENANCE_NOTE =
  'Generated by `make schemas`; do not edit. The bundle holds the strictified schemas that strict validation reads. ' +
  'Each upstream document is named by a pinned URL. For the Kubernetes OpenAPI documents, sha256 is that of the file; ' +
  'a CRD file upstream may hold more CRDs than are taken (and the shared copies add a comment header), so each CRD taken ' +
  'is checked by the sha256 of the canonical JSON (sorted keys) of its spec.';

/** Builds every file of the bundle. */
export function buildSchemaBundle(sources: BundleSources): BundleFiles {
  const files: BundleFiles = new Map();
  const documents: UpstreamDocument[] = [];
  for (const label of KUBERNETES_VERSIONS) {
    const ofVersion = KUBERNETES_DOCUMENTS.map((name) => {
      const local = `k8s-openapi/${label}/${name}`;
      const found = sources.kubernetes.find((source) => source.local === local);
      if (found === undefined) fail(local, 'missing from the schema sources');
      documents.push({ local, url: kubernetesDocumentUrl(label, name), sha256: sha256(found.text) });
      return found;
    });
    const bundle = buildKubernetes(label, ofVersion);
    files.set(kubernetesBundleFile(label), stringifyBundleFile(bundle as unknown as Record<string, unknown>));
  }
  const missing = IMPORTED_CRD_FILES.filter((name) => !sources.crds.some((source) => source.local === `crds/${name}`));
  if (missing.length > 0) fail(`crds/${missing[0]}`, 'missing from the schema sources');
  const ordered = IMPORTED_CRD_FILES.map((name) => sources.crds.find((source) => source.local === `crds/${name}`) as SourceText);
  const { crds, clusterCrds, documents: crdDocuments } = buildCrds(ordered);
  documents.push(...crdDocuments);
  files.set(CRDS_FILE, stringifyBundleFile({ crds }));
  files.set(CLUSTER_CRDS_FILE, `[\n${clusterCrds.map((crd) => JSON.stringify(crd)).join(',\n')}\n]\n`);

  const checksums = Object.fromEntries([...files].map(([name, text]) => [name, sha256(text)]));
  const provenance: Provenance = { note: PROVENANCE_NOTE, documents, files: checksums };
  files.set(PROVENANCE_FILE, `${JSON.stringify(provenance, null, 2)}\n`);
  return files;
}

/** Checks downloaded documents against the checksums of the committed provenance; returns the problems. */
export function verifyDownloads(provenance: Provenance, downloads: ReadonlyMap<string, string>): string[] {
  const problems: string[] = [];
  for (const document of provenance.documents) {
    const text = downloads.get(document.url);
    if (text === undefined) {
      problems.push(`${document.url}: not downloaded`);
      continue;
    }
    if (document.sha256 !== undefined && sha256(text) !== document.sha256) {
      problems.push(`${document.url}: sha256 ${sha256(text)}, expected ${document.sha256}`);
    }
    if (document.crds !== undefined) {
      const found = new Map(parseCrds({ local: document.url, text }).map((crd) => [crd.name, crd]));
      for (const { name, specSha256 } of document.crds) {
        const crd = found.get(name);
        if (crd === undefined) problems.push(`${document.url}: has no CustomResourceDefinition ${name}`);
        else if (canonicalSha256(crd.spec) !== specSha256)
          problems.push(`${document.url}: the spec of ${name} differs from the one bundled`);
      }
    }
  }
  return problems;
}

/**
 * Rebuilds the shared-source layout from verified downloads: each Kubernetes document under its
 * local name, each CRD file as the CRDs taken from their upstream documents, in the same order,
 * headed by the same `repo @ tag : path` lines that crdOrigins() reads.
 */
export function sourcesFromDownloads(provenance: Provenance, downloads: ReadonlyMap<string, string>): BundleSources {
  const kubernetes: SourceText[] = [];
  const crdFiles = new Map<string, { headers: string[]; documents: string[] }>();
  for (const document of provenance.documents) {
    const text = downloads.get(document.url) as string;
    if (document.crds === undefined) {
      kubernetes.push({ local: document.local, text });
      continue;
    }
    const file = crdFiles.get(document.local) ?? { headers: [], documents: [] };
    crdFiles.set(document.local, file);
    const [owner, repository, tag, ...upstreamPath] = document.url.replace('https://raw.githubusercontent.com/', '').split('/');
    const found = new Map(parseCrds({ local: document.url, text }).map((crd) => [crd.name, crd]));
    for (const { name } of document.crds) {
      const spec = (found.get(name) as ParsedCrd).spec;
      file.headers.push(`#   ${owner}/${repository} @ ${tag} : ${upstreamPath.join('/')}`);
      file.documents.push(
        yaml.dump(
          { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name }, spec },
          { noRefs: true, lineWidth: -1 },
        ),
      );
    }
  }
  const crds = [...crdFiles].map(([local, { headers, documents }]) => {
    // One header line for a file taken from a single upstream document, else one per CRD.
    const lines = new Set(headers).size === 1 ? headers.slice(0, 1) : headers;
    return { local, text: `${lines.join('\n')}\n${documents.map((document) => `---\n${document}`).join('')}` };
  });
  return { kubernetes, crds };
}
