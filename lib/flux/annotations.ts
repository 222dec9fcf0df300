/** Flux never deletes this object, even when it disappears from `dist/` (namespaces, volume claims). */
export const FLUX_PRUNE_DISABLED = { 'kustomize.toolkit.fluxcd.io/prune': 'disabled' } as const;

/** Flux deletes and recreates this object when an immutable field changes (Jobs). */
export const FLUX_FORCE_REPLACE = { 'kustomize.toolkit.fluxcd.io/force': 'enabled' } as const;
