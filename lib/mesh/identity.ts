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

/** Where DNS queries may go (config `cluster.dns`). */
export interface ClusterDns {
  readonly namespace: string;
  readonly podSelector: Readonly<Record<string, string>>;
  readonly nodeLocalAddresses: readonly string[];
}

/**
 * What a construct that joins the mesh needs to know of it, given as a prop (never read from its
 * chart): where istiod runs (sidecars fetch their configuration and certificates there, port
 * 15012), the trust domain its identities are in, and where the cluster's DNS answers.
 */
export interface Mesh {
  readonly istioNamespace: string;
  readonly trustDomain: string;
  readonly clusterDns: ClusterDns;
}

/** The SPIFFE principal Istio gives a client's pods in `trustDomain`, as AuthorizationPolicy matches it. */
export function principalOf(client: { readonly namespace: string; readonly serviceAccountName: string }, trustDomain: string): string {
  return meshPrincipal(trustDomain, client.namespace, client.serviceAccountName);
}
