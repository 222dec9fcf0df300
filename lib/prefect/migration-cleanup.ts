import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { contentHash } from '../core/content-hash';
import { LABEL, selectorFor, withVersion } from '../core/labels';
import { restrictedContainerSecurityContext, restrictedPodSecurityContext } from '../core/pod-security';
import { toResourceRequirements } from '../core/resources';
import { runOnceJobAnnotations } from '../flux/hashed-job';
import type { Mesh } from '../mesh/identity';
import { WorkloadNetworkPolicy } from '../mesh/workload-network-policy';

/** The `registry.k8s.io/kubectl` image's user is root; the pod runs as this one instead. */
const KUBECTL_USER = { uid: 65532, gid: 65532 } as const;

/** How long the cleanup waits beyond the longest migration's deadline before giving up. */
const WAIT_MARGIN_SECONDS = 300;

export interface MigrationCleanupProps {
  readonly namespace: string;
  /** The cleanup's own labels (a component other than the migrations'). */
  readonly labels: Record<string, string>;
  /** The labels every migration Job of the installation carries, whatever its release. */
  readonly migrationSelector: Record<string, string>;
  /** The current release's migration Jobs: the cleanup waits for them and never deletes them. */
  readonly jobNames: readonly string[];
  /** The longest of their deadlines. */
  readonly deadlineSeconds: number;
  /** The kubectl release of the image. */
  readonly kubectlVersion: string;
  /** Where the API server's endpoints are. */
  readonly apiServer: { readonly ranges: readonly string[]; readonly ports: readonly number[] };
  readonly mesh: Mesh;
}

/**
 * Deletes the migration Jobs of earlier releases once the current release has migrated. Flux
 * never prunes a migration Job (a running one would be killed), so something must remove them:
 * this hash-named Job (named after the current Jobs, so each release brings a new one) first
 * waits until every current migration Job is Complete, then deletes the installation's
 * migration Jobs that succeeded, but the current ones. A failed Job stays, for its logs; a
 * running one is never touched (it has not succeeded). It calls the API server with kubectl
 * under a Role that may only read and delete Jobs of its namespace; it runs outside the mesh
 * (it serves nothing and talks only to the API server, which is not in the mesh) and its
 * NetworkPolicy lets it reach the API server and nothing else. The migrations layer does not
 * wait for it: a cleanup that fails holds back no release.
 */
export class MigrationCleanup extends Construct {
  public readonly jobName: string;
  public readonly job: k8s.KubeJob;

  constructor(scope: Construct, id: string, props: MigrationCleanupProps) {
    super(scope, id);
    const { namespace, labels } = props;
    const name = labels[LABEL.name] as string;
    const image = `registry.k8s.io/kubectl:${props.kubectlVersion}`;
    const current = [...props.jobNames].sort();
    const selector = Object.entries(props.migrationSelector)
      .map(([key, value]) => `${key}=${value}`)
      .join(',');
    const container = (containerName: string, args: readonly string[]): k8s.Container => ({
      name: containerName,
      image,
      imagePullPolicy: 'IfNotPresent',
      command: ['kubectl', ...args],
      // kubectl keeps its discovery cache under $HOME.
      env: [{ name: 'HOME', value: '/tmp' }],
      resources: toResourceRequirements({ requests: { cpu: '10m', memory: '32Mi' }, limits: { memory: '128Mi' } }),
      securityContext: restrictedContainerSecurityContext(KUBECTL_USER),
      volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
    });
    const template: k8s.PodTemplateSpec = {
      // Out of the mesh: the pod calls only the API server, which the mesh does not front.
      metadata: { labels: { ...labels, 'sidecar.istio.io/inject': 'false' } },
      spec: {
        serviceAccountName: name,
        automountServiceAccountToken: true,
        enableServiceLinks: false,
        restartPolicy: 'Never',
        securityContext: restrictedPodSecurityContext(KUBECTL_USER),
        initContainers: [
          container('wait', [
            'wait',
            `--namespace=${namespace}`,
            '--for=condition=Complete',
            `--timeout=${props.deadlineSeconds + WAIT_MARGIN_SECONDS}s`,
            ...current.map((job) => `job/${job}`),
          ]),
        ],
        containers: [
          container('delete', [
            'delete',
            'jobs',
            `--namespace=${namespace}`,
            `--selector=${selector}`,
            `--field-selector=${['status.successful=1', ...current.map((job) => `metadata.name!=${job}`)].join(',')}`,
            '--cascade=background',
            '--ignore-not-found',
          ]),
        ],
        volumes: [{ name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('16Mi') } }],
      },
    };
    this.jobName = `${name}-${contentHash(k8s.toJson_PodTemplateSpec(template), 10)}`;

    new k8s.KubeServiceAccount(this, 'ServiceAccount', { metadata: { name, namespace, labels } });
    new k8s.KubeRole(this, 'Role', {
      metadata: { name, namespace, labels },
      rules: [{ apiGroups: ['batch'], resources: ['jobs'], verbs: ['get', 'list', 'watch', 'delete'] }],
    });
    new k8s.KubeRoleBinding(this, 'RoleBinding', {
      metadata: { name, namespace, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [{ kind: 'ServiceAccount', name, namespace }],
    });
    this.job = new k8s.KubeJob(this, 'Resource', {
      metadata: {
        name: this.jobName,
        namespace,
        labels: withVersion(labels, props.kubectlVersion),
        annotations: runOnceJobAnnotations({
          automountServiceAccountToken:
            'the pod calls the API server (kubectl delete jobs) with this token, under a Role that may only read and delete Jobs of its namespace',
        }),
      },
      spec: { backoffLimit: 1, activeDeadlineSeconds: props.deadlineSeconds + 2 * WAIT_MARGIN_SECONDS, template },
    });

    const policy = new WorkloadNetworkPolicy(this, 'NetworkPolicy', {
      name,
      namespace,
      labels,
      podSelector: selectorFor(labels),
      mesh: props.mesh,
    });
    for (const cidr of props.apiServer.ranges) policy.allowEgressToCidr({ cidr, ports: props.apiServer.ports });
  }
}
