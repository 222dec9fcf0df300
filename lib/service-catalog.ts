import { DEFAULT_CATALOG, type ServiceDefinition } from './catalog';
import type { EnvironmentConfig } from './config/load';

/** A catalog entry as this environment runs it: defaults, then `prefect.services` overrides. */
export interface ResolvedService extends ServiceDefinition {
  /** Extra environment variables from the configuration. */
  readonly env: Readonly<Record<string, string>>;
}

/**
 * The environment's services: the default catalog with `prefect.services` merged in, services
 * with `enabled: false` removed and new ones added. Scalable services run at least
 * `prefect.replicas` pods and at most `prefect.maxReplicas` (unless a service sets its own);
 * loop services always exactly one. `prefect.defaultResources` replaces the catalog's sizes. The schema has already checked
 * that new services are complete.
 */
export function resolveCatalog(config: EnvironmentConfig): ResolvedService[] {
  const overrides = config.prefect.services;
  const names = [...DEFAULT_CATALOG.map((service) => service.name), ...Object.keys(overrides).filter((name) => !DEFAULT_CATALOG.some((service) => service.name === name))];
  const services: ResolvedService[] = [];
  for (const name of names) {
    const base = DEFAULT_CATALOG.find((service) => service.name === name);
    const { enabled, env, ...override } = overrides[name] ?? {};
    if (enabled === false) continue;
    const resources = override.resources ?? config.prefect.defaultResources ?? base?.resources;
    const merged = { ...base, ...override, ...(resources ? { resources } : {}), name } as ServiceDefinition;
    const singleton = merged.type === 'loop';
    const replicas = singleton ? 1 : (override.replicas ?? Math.max(merged.replicas, config.prefect.replicas));
    const cap = override.maxReplicas ?? Math.min(merged.maxReplicas, config.prefect.maxReplicas ?? Infinity);
    const maxReplicas = singleton ? 1 : Math.max(cap, replicas);
    services.push({ ...merged, replicas, maxReplicas, env: env ?? {} });
  }
  return services;
}
