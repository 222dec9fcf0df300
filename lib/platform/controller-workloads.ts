import { CERT_MANAGER_REQUESTS } from './cert-manager-releases';
import { BARMAN_CLOUD_PLUGIN_REQUESTS, CLOUDNATIVE_PG_NAMESPACE, CLOUDNATIVE_PG_OPERATOR_REQUESTS } from './cloudnative-pg-operator';
import { EXTERNAL_SECRETS_NAMESPACE, EXTERNAL_SECRETS_REQUESTS } from './external-secrets-operator';
import type { WorkloadDemand } from '../core/kubernetes-object';
import type { EnvironmentConfig } from '../config/load';
import { parseQuantity } from '../core/quantity';
import { SIDECAR_RESOURCES } from '../mesh/sidecar';
import { KEDA_NAMESPACE, KEDA_REQUESTS } from './keda-operator';

/**
 * Requests of the Istio control plane as its charts (1.30) set them by default (istiod's and
 * istio-cni's top-level `resources`), and istiod's default HPA range (`autoscaleMax`).
 */
export const ISTIO_REQUESTS = {
  istiod: { cpu: '500m', memory: '2048Mi', maxReplicas: 5 },
  cni: { cpu: '100m', memory: '100Mi' },
} as const;

/**
 * istiod's replicas (its autoscaler's minimum): two wherever a second node exists, so that a
 * drain or a lost node leaves one to answer the injection webhook, which fails closed (no pod
 * starts in the mesh namespaces without it); the chart adds a PodDisruptionBudget from two on.
 */
export function istiodReplicas(config: EnvironmentConfig): number {
  return config.cluster.nodes > 1 ? 2 : 1;
}

/**
 * The pods that the platform layer's Helm releases run (they are not objects of `dist/`), for
 * the capacity check (`CapacityInputs.platformWorkloads`). Only what this installation
 * installs: nothing of a mesh or cert-manager the cluster brings itself; the CloudNativePG and
 * external-secrets operators only with those providers.
 */
export function edgeControllerWorkloads(config: EnvironmentConfig): WorkloadDemand[] {
  const { mesh, namespaces } = config;
  const demand = (
    namespace: string,
    kind: string,
    name: string,
    requests: { cpu: string; memory: string },
    minReplicas = 1,
    maxReplicas = minReplicas,
  ): WorkloadDemand => ({
    layer: 'platform',
    kind,
    namespace,
    name,
    minReplicas,
    maxReplicas,
    cpu: parseQuantity(requests.cpu),
    memory: parseQuantity(requests.memory),
  });
  const workloads: WorkloadDemand[] = [];
  if (mesh.install) {
    const { istiod, cni } = ISTIO_REQUESTS;
    workloads.push(demand(namespaces.istio, 'Deployment', 'istiod', istiod, istiodReplicas(config), istiod.maxReplicas));
    workloads.push({ ...demand(namespaces.istio, 'DaemonSet', 'istio-cni-node', cni), perNode: true });
    // The gateway pod is the proxy itself: no sidecar on top.
    workloads.push(
      demand(
        namespaces.ingress,
        'Deployment',
        'istio-ingressgateway',
        mesh.gateway.resources.requests,
        mesh.gateway.replicas,
        mesh.gateway.maxReplicas,
      ),
    );
  }
  if (mesh.installCertManager) {
    workloads.push(demand(namespaces.certManager, 'Deployment', 'cert-manager', CERT_MANAGER_REQUESTS.controller));
    workloads.push(demand(namespaces.certManager, 'Deployment', 'cert-manager-webhook', CERT_MANAGER_REQUESTS.webhook));
    workloads.push(demand(namespaces.certManager, 'Deployment', 'cert-manager-cainjector', CERT_MANAGER_REQUESTS.cainjector));
  }
  if (mesh.installTrustManager) {
    workloads.push(demand(namespaces.certManager, 'Deployment', 'trust-manager', CERT_MANAGER_REQUESTS.trustManager));
  }
  if (config.postgres.provider === 'cloudnativepg') {
    workloads.push(demand(CLOUDNATIVE_PG_NAMESPACE, 'Deployment', 'cloudnative-pg', CLOUDNATIVE_PG_OPERATOR_REQUESTS));
    if (config.postgres.backup) {
      workloads.push(demand(CLOUDNATIVE_PG_NAMESPACE, 'Deployment', 'plugin-barman-cloud', BARMAN_CLOUD_PLUGIN_REQUESTS));
    }
  }
  if (config.autoscaling.backlog && config.autoscaling.installKeda) {
    // The operator with its sidecar (lib/platform/keda-operator.ts).
    workloads.push({
      ...demand(KEDA_NAMESPACE, 'Deployment', 'keda-operator', KEDA_REQUESTS),
      cpu: parseQuantity(KEDA_REQUESTS.cpu) + parseQuantity(SIDECAR_RESOURCES.cpu),
      memory: parseQuantity(KEDA_REQUESTS.memory) + parseQuantity(SIDECAR_RESOURCES.memory),
    });
    for (const name of ['keda-operator-metrics-apiserver', 'keda-admission-webhooks']) {
      workloads.push(demand(KEDA_NAMESPACE, 'Deployment', name, KEDA_REQUESTS));
    }
  }
  if (config.secrets.provider === 'external-secrets') {
    for (const name of ['external-secrets', 'external-secrets-webhook', 'external-secrets-cert-controller']) {
      workloads.push(demand(EXTERNAL_SECRETS_NAMESPACE, 'Deployment', name, EXTERNAL_SECRETS_REQUESTS));
    }
  }
  return workloads;
}
