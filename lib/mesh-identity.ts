import { Chart } from 'cdk8s';
import type { IConstruct } from 'constructs';
import type { LayerChart } from './charts/layer-chart';

/*
 * Istio identities. A workload's identity is the SPIFFE ID of its service account,
 * `spiffe://<trust domain>/ns/<namespace>/sa/<service account>`; AuthorizationPolicy
 * `principals` name it without the scheme. The trust domain is the mesh's
 * (`meshConfig.trustDomain`, config `mesh.trustDomain`).
 */

/** Istio's default trust domain. */
export const DEFAULT_TRUST_DOMAIN = 'cluster.local';

/** The principal of the pods that run as `serviceAccount` in `namespace`, as AuthorizationPolicy matches it. */
export function meshPrincipal(trustDomain: string, namespace: string, serviceAccount: string): string {
  if (!/^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$/.test(trustDomain)) {
    throw new Error(
      `mesh principal: "${trustDomain}" is not a trust domain; expected lower-case letters, digits, ".", "-" and "_", such as "cluster.local"`,
    );
  }
  return `${trustDomain}/ns/${namespace}/sa/${serviceAccount}`;
}

/**
 * The trust domain of the installation that `scope` belongs to (config `mesh.trustDomain`), for
 * constructs that name principals without the configuration at hand.
 */
export function meshTrustDomain(scope: IConstruct): string {
  // (cdk8s makes every Chart `instanceof` every chart class: look for the configuration itself.)
  const config = (Chart.of(scope) as Partial<LayerChart>).config;
  if (!config) {
    throw new Error(`${scope.node.path}: the mesh's trust domain is known only inside a layer chart of an environment`);
  }
  return config.mesh.trustDomain;
}
