/**
 * The Kubernetes kinds the generator can emit, with every provider and mode: the schema bundle
 * holds their schemas (and what they reference), nothing more. A new kind in the code is added
 * here, then `make schemas` regenerates the bundle; a test checks that every `k8s.Kube…` class
 * the code uses is listed.
 *
 * Custom resources need no list: every served version of every imported CRD is bundled.
 */
export const EMITTED_KUBERNETES_KINDS: readonly string[] = [
  'v1/ConfigMap',
  'v1/PersistentVolumeClaim',
  'v1/Namespace',
  'v1/Service',
  'v1/ServiceAccount',
  'apps/v1/Deployment',
  'apps/v1/StatefulSet',
  'batch/v1/Job',
  'batch/v1/CronJob',
  'autoscaling/v2/HorizontalPodAutoscaler',
  'policy/v1/PodDisruptionBudget',
  'networking.k8s.io/v1/IngressClass',
  'networking.k8s.io/v1/NetworkPolicy',
  'scheduling.k8s.io/v1/PriorityClass',
  'rbac.authorization.k8s.io/v1/Role',
  'rbac.authorization.k8s.io/v1/RoleBinding',
];
