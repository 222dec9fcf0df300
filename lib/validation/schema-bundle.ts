/**
 * The schema bundle: the committed, compact schemas that strict validation reads (`schemas/` at
 * the project root), so that a clone with nothing beside it validates what it synthesizes.
 *
 *   schemas/kubernetes-<version>.json  the kinds of that Kubernetes version, and the strictified
 *                                      component schemas that the emitted kinds reach
 *   schemas/crds.json                  every served version of every imported CRD, strictified
 *   schemas/cluster-crds.json          the imported CRDs as manifests (descriptions removed), for
 *                                      the API server of the tests
 *   schemas/provenance.json            the upstream documents (pinned URLs, sha256) and the
 *                                      sha256 of each bundle file
 *
 * `make schemas` writes it (lib/validation/schema-bundle-builder.ts); this module only reads it.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { SchemaObject } from './schema-preparation';

/** The Kubernetes versions validated against: the oldest supported and the newest with v3 documents. */
export const KUBERNETES_VERSIONS: readonly string[] = ['1.33', '1.35'];

export const BUNDLE_FOLDER = 'schemas';
export const PROVENANCE_FILE = 'provenance.json';
export const CRDS_FILE = 'crds.json';
/** The imported CRDs as manifests, for the tests' API server (synthesis does not read it). */
export const CLUSTER_CRDS_FILE = 'cluster-crds.json';

export function kubernetesBundleFile(label: string): string {
  return `kubernetes-${label}.json`;
}

export interface KubernetesBundle {
  readonly label: string;
  /** Every kind of the upstream documents, `apps/v1/Deployment` → component name. */
  readonly kinds: Readonly<Record<string, string>>;
  /** The strictified components that the emitted kinds reach. */
  readonly schemas: Readonly<Record<string, SchemaObject>>;
}

export interface CrdBundleVersion {
  readonly served: boolean;
  /** The strictified `openAPIV3Schema`; its metadata refers to ObjectMeta of the oldest Kubernetes version. */
  readonly schema: SchemaObject;
}

export interface CrdBundleKind {
  /** e.g. `crd:istio.yaml`. */
  readonly source: string;
  readonly versions: Readonly<Record<string, CrdBundleVersion>>;
}

export interface SchemaBundle {
  /** Identity of the bundle's content (the sha256 of its provenance, which holds every file's sha256). */
  readonly id: string;
  readonly kubernetes: readonly KubernetesBundle[];
  /** `networking.istio.io/VirtualService` → its versions. */
  readonly crds: Readonly<Record<string, CrdBundleKind>>;
}

export interface UpstreamDocument {
  /** Where the bundle builder finds it in the shared sources, e.g. `k8s-openapi/1.33/api__v1_openapi.json`. */
  readonly local: string;
  /** The pinned upstream address. */
  readonly url: string;
  /** sha256 of the file at `url` (OpenAPI documents), or of the canonical JSON of each CRD's `spec` taken from it. */
  readonly sha256?: string;
  readonly crds?: ReadonlyArray<{ readonly name: string; readonly specSha256: string }>;
}

export interface Provenance {
  readonly note: string;
  readonly documents: readonly UpstreamDocument[];
  /** sha256 of each bundle file, checked on every load. */
  readonly files: Readonly<Record<string, string>>;
}

/** A missing or damaged bundle: one line, naming the file and the repair. */
export class SchemaBundleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SchemaBundleError';
  }
}

export function sha256(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex');
}

const REPAIR = 'restore it with `git checkout -- schemas/` or regenerate it with `make schemas`';

/** Reads bundle files, each checked against its sha256 in the provenance. */
function bundleReader(projectRoot: string): {
  provenanceText: string;
  checked: (file: string) => unknown;
  relative: (file: string) => string;
} {
  const folder = path.join(projectRoot, BUNDLE_FOLDER);
  const relative = (file: string) => path.join(BUNDLE_FOLDER, file);
  const read = (file: string): string => {
    try {
      return fs.readFileSync(path.join(folder, file), 'utf8');
    } catch {
      throw new SchemaBundleError(`${relative(file)}: the schema bundle file is missing; ${REPAIR}`);
    }
  };
  const parse = (file: string, text: string): unknown => {
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      throw new SchemaBundleError(`${relative(file)}: not valid JSON (${(error as Error).message}); ${REPAIR}`);
    }
  };
  const provenanceText = read(PROVENANCE_FILE);
  const provenance = parse(PROVENANCE_FILE, provenanceText) as Partial<Provenance>;
  if (typeof provenance.files !== 'object' || provenance.files === null) {
    throw new SchemaBundleError(`${relative(PROVENANCE_FILE)}: has no "files" checksums; ${REPAIR}`);
  }
  const checked = (file: string): unknown => {
    const text = read(file);
    const expected = provenance.files?.[file];
    if (expected === undefined) throw new SchemaBundleError(`${relative(file)}: no checksum in ${relative(PROVENANCE_FILE)}; ${REPAIR}`);
    if (sha256(text) !== expected) {
      throw new SchemaBundleError(`${relative(file)}: damaged (its sha256 differs from ${relative(PROVENANCE_FILE)}); ${REPAIR}`);
    }
    return parse(file, text);
  };
  return { provenanceText, checked, relative };
}

/** Reads and checks the bundle under `<projectRoot>/schemas/`. */
export function loadSchemaBundle(projectRoot: string): SchemaBundle {
  const { provenanceText, checked, relative } = bundleReader(projectRoot);
  const kubernetes = KUBERNETES_VERSIONS.map((label) => {
    const file = kubernetesBundleFile(label);
    const content = checked(file) as Partial<KubernetesBundle>;
    if (content.label !== label || typeof content.kinds !== 'object' || typeof content.schemas !== 'object') {
      throw new SchemaBundleError(`${relative(file)}: not a Kubernetes ${label} schema bundle; ${REPAIR}`);
    }
    return content as KubernetesBundle;
  });
  const crds = checked(CRDS_FILE) as { crds?: Record<string, CrdBundleKind> };
  if (typeof crds.crds !== 'object' || crds.crds === null) throw new SchemaBundleError(`${relative(CRDS_FILE)}: has no "crds"; ${REPAIR}`);
  return { id: sha256(provenanceText), kubernetes, crds: crds.crds };
}

/** The imported CRDs as manifests (`schemas/cluster-crds.json`), checked like the rest of the bundle. */
export function loadClusterCrds(projectRoot: string): Record<string, unknown>[] {
  const { checked, relative } = bundleReader(projectRoot);
  const crds = checked(CLUSTER_CRDS_FILE);
  if (!Array.isArray(crds)) throw new SchemaBundleError(`${relative(CLUSTER_CRDS_FILE)}: not a list of CRDs; ${REPAIR}`);
  return crds as Record<string, unknown>[];
}

/**
 * JSON with one line per entry of the top-level objects (and of their object-valued entries at
 * the second level), so that a regenerated bundle shows as a readable diff, one schema per line.
 */
export function stringifyBundleFile(value: Readonly<Record<string, unknown>>): string {
  const entries = (object: Readonly<Record<string, unknown>>, level: number): string => {
    const lines = Object.entries(object).map(([key, child]) => {
      const nested = level === 0 && typeof child === 'object' && child !== null && !Array.isArray(child);
      return `${JSON.stringify(key)}: ${nested ? entries(child as Record<string, unknown>, 1) : JSON.stringify(child)}`;
    });
    return lines.length === 0 ? '{}' : `{\n${lines.join(',\n')}\n}`;
  };
  return `${entries(value, 0)}\n`;
}
