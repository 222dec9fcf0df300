/*
 * A small, fully compliant application for the policy tests: a Deployment with its
 * ServiceAccount, Service, NetworkPolicy, PodDisruptionBudget and HorizontalPodAutoscaler, and a
 * compliant Job. Each test breaks one thing in a copy and expects exactly the check that guards
 * it to fail.
 */
import type { PolicyObject } from '../../lib/policy/model';

export const NAMESPACE = 'app';
const LABELS = { app: 'web', tier: 'api' };
const SELECTOR = { app: 'web' };

const restrictedContainerSecurity = () => ({
  runAsNonRoot: true,
  runAsUser: 10001,
  runAsGroup: 10001,
  allowPrivilegeEscalation: false,
  privileged: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
});

const restrictedPodSecurity = () => ({
  runAsNonRoot: true,
  runAsUser: 10001,
  runAsGroup: 10001,
  fsGroup: 10001,
  seccompProfile: { type: 'RuntimeDefault' },
});

const probe = (path: string) => ({ httpGet: { path, port: 'http' }, periodSeconds: 10 });

export function webContainer(): Record<string, unknown> {
  return {
    name: 'web',
    image: 'registry.example.com/web:1.2.3',
    imagePullPolicy: 'IfNotPresent',
    ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
    env: [
      { name: 'LOG_LEVEL', value: 'info' },
      { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } },
    ],
    resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m', memory: '256Mi' } },
    livenessProbe: probe('/healthz'),
    readinessProbe: probe('/ready'),
    startupProbe: probe('/healthz'),
    securityContext: restrictedContainerSecurity(),
    volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
  };
}

function metadata(name: string, labels: Record<string, string> = LABELS) {
  return { name, namespace: NAMESPACE, labels };
}

export function deployment(): PolicyObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: metadata('web'),
    spec: {
      replicas: 3,
      selector: { matchLabels: SELECTOR },
      strategy: { type: 'RollingUpdate' },
      template: {
        metadata: { labels: LABELS },
        spec: {
          serviceAccountName: 'web',
          automountServiceAccountToken: false,
          securityContext: restrictedPodSecurity(),
          affinity: {
            podAntiAffinity: {
              preferredDuringSchedulingIgnoredDuringExecution: [
                { weight: 100, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: SELECTOR } } },
              ],
            },
          },
          topologySpreadConstraints: [
            {
              maxSkew: 1,
              topologyKey: 'kubernetes.io/hostname',
              whenUnsatisfiable: 'ScheduleAnyway',
              labelSelector: { matchLabels: SELECTOR },
            },
          ],
          containers: [webContainer()],
          volumes: [{ name: 'tmp', emptyDir: { sizeLimit: '64Mi' } }],
        },
      },
    },
  };
}

export function job(): PolicyObject {
  const container = webContainer();
  delete container.livenessProbe;
  delete container.readinessProbe;
  delete container.startupProbe;
  delete container.ports;
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: metadata('migrate', { app: 'migrate' }),
    spec: {
      ttlSecondsAfterFinished: 600,
      backoffLimit: 2,
      template: {
        metadata: { labels: { app: 'migrate' } },
        spec: {
          serviceAccountName: 'web',
          automountServiceAccountToken: false,
          restartPolicy: 'Never',
          securityContext: restrictedPodSecurity(),
          containers: [{ ...container, name: 'migrate' }],
          volumes: [{ name: 'tmp', emptyDir: {} }],
        },
      },
    },
  };
}

/** The compliant application (without the Job, which no-liveness-probe would flag by design). */
export function application(): PolicyObject[] {
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: metadata('web'), automountServiceAccountToken: false },
    deployment(),
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: metadata('web'),
      spec: { type: 'ClusterIP', selector: SELECTOR, ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }] },
    },
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: metadata('web'),
      spec: {
        podSelector: { matchLabels: SELECTOR },
        policyTypes: ['Ingress', 'Egress'],
        ingress: [{ ports: [{ protocol: 'TCP', port: 8080 }] }],
        egress: [{ ports: [{ protocol: 'TCP', port: 5432 }] }],
      },
    },
    {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: metadata('web'),
      spec: { maxUnavailable: 1, selector: { matchLabels: SELECTOR }, unhealthyPodEvictionPolicy: 'AlwaysAllow' },
    },
    {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: metadata('web'),
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
        minReplicas: 3,
        maxReplicas: 6,
        metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }],
      },
    },
  ];
}

/** The application plus the compliant Job and its NetworkPolicy. */
export function applicationWithJob(): PolicyObject[] {
  return [
    ...application(),
    job(),
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: metadata('migrate', { app: 'migrate' }),
      spec: {
        podSelector: { matchLabels: { app: 'migrate' } },
        policyTypes: ['Ingress', 'Egress'],
        egress: [{ ports: [{ protocol: 'TCP', port: 5432 }] }],
      },
    },
  ];
}

// Fixtures are plain JSON that the tests edit freely.
type Editable = any;

/** A copy of `objects` with `edit` applied to the object of `kind` named `name`. */
export function edited(objects: readonly PolicyObject[], kind: string, name: string, edit: (object: Editable) => void): PolicyObject[] {
  const copy = structuredClone(objects) as PolicyObject[];
  const target = copy.find((object) => object.kind === kind && object.metadata.name === name);
  if (!target) throw new Error(`fixture has no ${kind} ${name}`);
  edit(target);
  return copy;
}

/** Edits the web Deployment's pod spec. */
export function withPod(edit: (spec: Editable) => void, objects: readonly PolicyObject[] = application()): PolicyObject[] {
  return edited(objects, 'Deployment', 'web', (object) => edit(object.spec.template.spec));
}

/** Edits the web Deployment's container. */
export function withContainer(edit: (container: Editable) => void, objects: readonly PolicyObject[] = application()): PolicyObject[] {
  return withPod((spec) => edit(spec.containers[0]), objects);
}

export function without(objects: readonly PolicyObject[], kind: string, name: string): PolicyObject[] {
  return objects.filter((object) => !(object.kind === kind && object.metadata.name === name));
}
