/*
 * The committed schema bundle in kubeconform's layout: one standalone JSON schema per kind and
 * API version, per Kubernetes version, under `v<version>.0-strict/<group>/<kind>_<version>.json`
 * (the "-strict" suffix is kubeconform's under -strict). Each file holds the kind's schema and
 * the component schemas it reaches, so that its references resolve inside the file.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { SchemaBundle } from '../../lib/validation/schema-bundle';
import {
  COMPONENTS_PREFIX,
  forEachSubschema,
  kubernetesDocumentId,
  reachableComponents,
  type SchemaObject,
} from '../../lib/validation/schema-preparation';

/** kubeconform's -schema-location for a folder written by writeKubeconformSchemas. */
export function schemaLocation(root: string): string {
  return `${root}/{{ .NormalizedKubernetesVersion }}{{ .StrictSuffix }}/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json`;
}

/** The Kubernetes version to pass as -kubernetes-version for a bundle label ("1.33" → "1.33.0"). */
export function kubeconformVersion(label: string): string {
  return `${label}.0`;
}

/** Replaces `from` at the start of every $ref (in place). */
function rebase(schema: unknown, from: string): void {
  forEachSubschema(schema, (subschema) => {
    if (typeof subschema.$ref === 'string' && subschema.$ref.startsWith(from)) {
      subschema.$ref = `${COMPONENTS_PREFIX}${subschema.$ref.slice(from.length)}`;
    }
  });
}

/** The components a schema refers to directly. */
function referencedComponents(schema: SchemaObject): string[] {
  const names: string[] = [];
  forEachSubschema(schema, (subschema) => {
    if (typeof subschema.$ref === 'string' && subschema.$ref.startsWith(COMPONENTS_PREFIX))
      names.push(subschema.$ref.slice(COMPONENTS_PREFIX.length));
  });
  return names;
}

function writeSchema(file: string, schema: SchemaObject, components: Readonly<Record<string, SchemaObject>>): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const document = {
    $schema: 'http://json-schema.org/draft-07/schema#',
    ...schema,
    // The components the schema refers to, and those they reach.
    components: {
      schemas: Object.fromEntries(
        [...reachableComponents(referencedComponents(schema), components, file)].map((name) => [name, components[name] as SchemaObject]),
      ),
    },
  };
  fs.writeFileSync(file, JSON.stringify(document));
}

/** `apps/v1` → ["apps", "v1"]; `v1` → ["v1", "v1"], as kubeconform's {{ .Group }} and {{ .ResourceAPIVersion }} read them. */
function groupAndVersion(apiVersion: string): [string, string] {
  const parts = apiVersion.split('/');
  return [parts[0] as string, parts[parts.length - 1] as string];
}

/** Writes every kind of the bundle, for every Kubernetes version, under `root`; returns the number of files. */
export function writeKubeconformSchemas(bundle: SchemaBundle, root: string): number {
  let files = 0;
  for (const kubernetes of bundle.kubernetes) {
    const folder = path.join(root, `v${kubeconformVersion(kubernetes.label)}-strict`);
    for (const [key, component] of Object.entries(kubernetes.kinds)) {
      if (!(component in kubernetes.schemas)) continue; // a kind the generator never emits
      const kind = key.slice(key.lastIndexOf('/') + 1);
      const [group, version] = groupAndVersion(key.slice(0, key.lastIndexOf('/')));
      const schema = kubernetes.schemas[component] as SchemaObject;
      writeSchema(path.join(folder, group, `${kind.toLowerCase()}_${version}.json`), schema, kubernetes.schemas);
      files += 1;
    }
    // Custom resources: their metadata refers to the ObjectMeta of the oldest version's document.
    const objectMetaDocument = kubernetesDocumentId(bundle.kubernetes[0]?.label as string);
    for (const [key, crd] of Object.entries(bundle.crds)) {
      const group = key.slice(0, key.lastIndexOf('/'));
      const kind = key.slice(key.lastIndexOf('/') + 1);
      for (const [version, { served, schema }] of Object.entries(crd.versions)) {
        if (!served) continue;
        const copy = structuredClone(schema);
        rebase(copy, `${objectMetaDocument}${COMPONENTS_PREFIX}`);
        writeSchema(path.join(folder, group, `${kind.toLowerCase()}_${version}.json`), copy, kubernetes.schemas);
        files += 1;
      }
    }
  }
  return files;
}
