import { instanceName } from '../core/labels';

/**
 * The Flux layers, in the order Flux applies them. Each is one cdk8s chart, one
 * folder `dist/<env>/<layer>/` and, except `flux` itself, one Flux `Kustomization` that depends
 * on the layer before it.
 */
export const APPLIED_LAYERS = ['platform', 'edge', 'data', 'migrations', 'prefect', 'monitoring'] as const;

/** A layer that a Flux Kustomization of the `flux` layer applies. */
export type AppliedLayer = (typeof APPLIED_LAYERS)[number];

/** The layers an environment has: `monitoring` only with monitoring.enabled. */
export function appliedLayersOf(config: { readonly monitoring: { readonly enabled: boolean } }): AppliedLayer[] {
  return APPLIED_LAYERS.filter((layer) => layer !== 'monitoring' || config.monitoring.enabled);
}

/** Every layer of an environment, `flux` last. */
export function layersOf(config: { readonly monitoring: { readonly enabled: boolean } }): Layer[] {
  return [...appliedLayersOf(config), 'flux'];
}

/** `flux` holds the Kustomizations above; the cluster's bootstrap points at it. */
export const LAYERS = [...APPLIED_LAYERS, 'flux'] as const;
export type Layer = (typeof LAYERS)[number];

/**
 * The name of the Flux Kustomization that applies `layer` of `environment`, e.g.
 * "prefect-prod-data": the environment is in it, so that two environments' `flux/` folders apply
 * side by side in one Flux namespace.
 */
export function kustomizationName(environment: string, layer: AppliedLayer | 'secrets'): string {
  return `${instanceName(environment)}-${layer}`;
}
