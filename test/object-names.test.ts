import { describe, expect, it } from 'vitest';
import { LAYERS, type Layer } from '../lib/layers';
import { build, ENVIRONMENTS } from './helpers';

/*
 * Names are a contract: a rename is a delete and a create in the cluster, and loses a
 * StatefulSet's volumes. These lists change only on purpose, in a reviewed commit.
 * Entries are "<Kind> <namespace or -> /<name>".
 */
type Pinned = Record<Layer, readonly string[]>;

const COMMON: Pinned = {
  platform: ['Namespace -/cert-manager', 'Namespace -/istio-ingress', 'Namespace -/istio-system', 'Namespace -/prefect', 'Namespace -/prefect-data'],
  edge: [],
  data: [],
  migrations: [],
  prefect: [],
  flux: [
    'Kustomization flux-system/prefect-data',
    'Kustomization flux-system/prefect-edge',
    'Kustomization flux-system/prefect-migrations',
    'Kustomization flux-system/prefect-platform',
    'Kustomization flux-system/prefect-prefect',
  ],
};

/** Per environment: the common names plus what differs (TLS mode, providers). */
const PINNED: Record<(typeof ENVIRONMENTS)[number], Pinned> = {
  dev: { ...COMMON },
  staging: { ...COMMON },
  prod: { ...COMMON },
};

describe.each(ENVIRONMENTS)('object names in %s', (environment) => {
  const rendered = build(environment);
  it.each(LAYERS.map((layer) => [layer]))('are pinned in the %s layer', (layer) => {
    const names = rendered.objects.filter((object) => object.layer === layer).map(({ object }) => `${object.kind} ${object.metadata.namespace ?? '-'}/${object.metadata.name}`);
    expect(names.sort()).toEqual([...PINNED[environment][layer]].sort());
  });
});
