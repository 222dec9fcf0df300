import { catalogOf, INTERNET_HTTPS, type EgressDestination, type PrefectImage, type ServiceDefinition } from '../catalog/services';
import { SSO_SERVICE } from '../catalog/single-sign-on';
import { strictlyContains } from '../core/cidr';
import type { EnvironmentConfig } from '../config/load';
import type { SecretKeyReference } from '../config/prefect-schema';

/** A configured environment variable: a literal, or a key of a Secret the configuration names. */
export type EnvSetting = string | SecretKeyReference;

/** An egress destination with its `except` list decided. */
export interface ResolvedEgress extends EgressDestination {
  readonly except: readonly string[];
}

/** A catalog entry as this environment runs it: defaults, then `prefect.services` overrides. */
export interface ResolvedService extends ServiceDefinition {
  /** Extra environment variables from the configuration: literals, or Secret keys. */
  readonly env: Readonly<Record<string, EnvSetting>>;
  /** Outbound connections outside the cluster, each `except` filled in from `cluster.privateRanges`. */
  readonly egress: readonly ResolvedEgress[];
}

/**
 * The environment's services: the default catalog with `prefect.services` merged in, services
 * with `enabled: false` removed and new ones added; with single sign-on, the auth service's way out
 * to the identity providers. Scalable services run at least
 * `prefect.replicas` pods and at most `prefect.maxReplicas` (unless a service sets its own);
 * loop services always exactly one. `prefect.defaultResources` replaces the catalog's sizes. An
 * egress destination without its own `except` leaves out the cluster's private ranges that lie
 * inside it. The schema has already checked that new services are complete.
 */
export function resolveCatalog(config: EnvironmentConfig): ResolvedService[] {
  const overrides = config.prefect.services;
  const DEFAULT_CATALOG = catalogOf(config.edition);
  const names = [
    ...DEFAULT_CATALOG.map((service) => service.name),
    ...Object.keys(overrides).filter((name) => !DEFAULT_CATALOG.some((service) => service.name === name)),
  ];
  const services: ResolvedService[] = [];
  for (const name of names) {
    const base = DEFAULT_CATALOG.find((service) => service.name === name);
    const { enabled, env, ...override } = overrides[name] ?? {};
    if (enabled === false) continue;
    const resources = override.resources ?? config.prefect.defaultResources ?? base?.resources;
    const merged = { ...base, ...override, ...(resources ? { resources } : {}), name } as ServiceDefinition;
    const singleton = merged.type === 'loop';
    // A maximum is a maximum: the catalog's replicas yield to it; replicas the configuration sets
    // above a maximum it sets are refused by the schema.
    const cap = override.maxReplicas ?? Math.min(merged.maxReplicas, config.prefect.maxReplicas ?? Infinity);
    const replicas = singleton
      ? 1
      : (override.replicas ?? Math.min(Math.max(merged.replicas, config.prefect.replicas), Math.max(cap, config.prefect.replicas)));
    const maxReplicas = singleton ? 1 : Math.max(cap, replicas);
    // With single sign-on, the auth service reaches the identity providers (prefect.sso.egress),
    // unless its own `egress` says where; without, it has no way out of the cluster.
    const sso = name === SSO_SERVICE && override.egress === undefined ? config.prefect.sso : undefined;
    const outbound = [...(merged.egress ?? []), ...(sso ? (sso.egress ?? INTERNET_HTTPS) : [])];
    const egress = outbound.map((destination) => resolveEgress(destination, config.cluster.privateRanges));
    services.push({ ...merged, replicas, maxReplicas, env: env ?? {}, egress });
  }
  return services;
}

/**
 * `except` as written, or else the private ranges strictly inside `cidr` (a NetworkPolicy rejects
 * an `except` outside its `cidr`, and one of the other address family): 0.0.0.0/0 leaves out the
 * IPv4 ranges, ::/0 the IPv6 ones, and a range inside a private one (a corporate identity
 * provider in 10.20.0.0/16) is allowed as written.
 */
function resolveEgress(destination: EgressDestination, privateRanges: readonly string[]): ResolvedEgress {
  const except = destination.except ?? privateRanges.filter((range) => strictlyContains(destination.cidr, range));
  return { cidr: destination.cidr, except: [...except], ports: [...destination.ports] };
}

/**
 * The reference of a Prefect image, and `@<digest>` when pinned: `<registry>/cloud/<image>:<tag>`
 * (Customer-Managed), `<registry>/prefect:<tag>` (open source, e.g. docker.io/prefecthq).
 */
export function prefectImage(config: Pick<EnvironmentConfig, 'prefect'>, image: PrefectImage): string {
  const { registry, tag, digests } = config.prefect.image;
  const digest = digests?.[image];
  const repository = image === 'prefect' ? 'prefect' : `cloud/${image}`;
  return `${registry}/${repository}:${tag}${digest ? `@${digest}` : ''}`;
}
