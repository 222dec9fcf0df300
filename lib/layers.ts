/**
 * The Flux layers, in the order Flux applies them. Each is one cdk8s chart, one
 * folder `dist/<env>/<layer>/` and, except `flux` itself, one Flux `Kustomization` that depends
 * on the layer before it.
 */
export const APPLIED_LAYERS = ['platform', 'edge', 'data', 'migrations', 'prefect'] as const;
export type AppliedLayer = (typeof APPLIED_LAYERS)[number];

/** `flux` holds the Kustomizations above; the cluster's bootstrap points at it. */
export const LAYERS = [...APPLIED_LAYERS, 'flux'] as const;
export type Layer = (typeof LAYERS)[number];

export const LAYER_PURPOSE: Record<Layer, string> = {
  platform: 'namespaces and the Helm releases of Istio, cert-manager and trust-manager (the CRDs arrive here)',
  edge: 'issuers, certificates, the Istio Gateway, VirtualServices and mesh-wide policies',
  data: 'PostgreSQL, its init Jobs, the three Redis instances and secret references',
  migrations: 'one schema-migration Job per database, applied with wait before the services roll out',
  prefect: 'the Prefect services, their routes\' backends and per-service policies',
  flux: 'the Flux Kustomizations that apply the layers above in order',
};
