import type { Mesh } from '../mesh/identity';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { contentHash } from '../core/content-hash';
import { RecordingDataClient, toEnvVars, toSecretVolumes, type DataClient } from '../core/data-client';
import { FLUX_FORCE_REPLACE } from './annotations';
import { restrictedContainerSecurityContext, restrictedPodSecurityContext } from '../core/pod-security';
import { exemptions, JOB_PROBE_REASON } from '../policy/exemption-annotations';
import { selectorFor, withVersion } from '../core/labels';
import { sidecarAnnotations } from '../mesh/sidecar';
import { WorkloadNetworkPolicy } from '../mesh/workload-network-policy';

/**
 * How a Job's pod completes under Istio STRICT mTLS. Chosen: a native sidecar (an init
 * container that keeps running, which Kubernetes stops when the Job's container exits).
 * The alternative, opting the pod out of the mesh and opening 5432 with a PERMISSIVE
 * PeerAuthentication, would send `ALTER ROLE … PASSWORD` in clear text across the pod network
 * and leave the server admitting connections that carry no identity; with the sidecar, the Job
 * has its own mesh identity (its service account), which the server's AuthorizationPolicy
 * allows like any other client. Needs Kubernetes 1.29+ (sidecar containers) and Istio 1.20+;
 * Istio enables native sidecars by default where it can, and this annotation asks for them
 * whatever the mesh-wide setting.
 */
export const NATIVE_SIDECAR_ANNOTATION = { 'sidecar.istio.io/nativeSidecar': 'true' } as const;

/**
 * Why the Job has no ttlSecondsAfterFinished, written on each Job as its policy exemption (the
 * one place the policy suite and a reader find it).
 */
export const JOB_TTL_EXEMPTION =
  'Flux re-applies dist/: a TTL would delete the finished Job and Flux would create and run it again. The name carries a hash of the pod template, so a changed Job is a new Job';

/**
 * The annotations of a run-once Job under GitOps: Flux replaces it when its template changes,
 * and the policy exemptions every such Job carries (no TTL, no probes), plus `polaris` ones of
 * its own.
 */
export function runOnceJobAnnotations(polaris?: Readonly<Record<string, string>>): Record<string, string> {
  return {
    ...FLUX_FORCE_REPLACE,
    ...exemptions({
      kubeLinter: {
        'job-ttl-seconds-after-finished': JOB_TTL_EXEMPTION,
        'no-liveness-probe': JOB_PROBE_REASON,
        'no-readiness-probe': JOB_PROBE_REASON,
      },
      ...(polaris ? { polaris } : {}),
    }),
  };
}

export interface HashedJobProps {
  /** The Job's name without the hash; the name of its ServiceAccount and NetworkPolicy. */
  readonly baseName: string;
  readonly namespace: string;
  /** The stable labels (the Job adds `version`; its pods and other objects do not). */
  readonly labels: Record<string, string>;
  /** The version of what the Job runs: its image's tag. */
  readonly version: string;
  readonly mesh: Mesh;
  /**
   * The relations that give the Job's container its environment and the Job its egress and its
   * place in the servers' policies, e.g. `(client) => postgres.grantSuperuser(client)`.
   */
  readonly connect: (client: DataClient) => void;
  /** The main container; the relations' variables come first in its `env`, then its own. */
  readonly container: k8s.Container;
  /**
   * Containers that run to completion, one after the other, before `container` starts (earlier
   * steps of the same task); each gets the relations' variables like the main container.
   * @default []
   */
  readonly initContainers?: readonly k8s.Container[];
  /** The user and group the pod runs as (non-root). */
  readonly runAs: { readonly uid: number; readonly gid: number };
  /** @default [] */
  readonly volumes?: readonly k8s.Volume[];
  /** @default [] */
  readonly imagePullSecrets?: readonly k8s.LocalObjectReference[];
  /**
   * Pod-template annotations beyond the sidecar's; changing one renames the Job, so it runs again
   * (e.g. `secrets.revision`).
   * @default {}
   */
  readonly podAnnotations?: Readonly<Record<string, string>>;
  readonly backoffLimit: number;
  readonly activeDeadlineSeconds: number;
  /**
   * Annotations of the Job object itself (not its pods), e.g. FLUX_PRUNE_DISABLED; they do not
   * rename it.
   * @default {}
   */
  readonly annotations?: Readonly<Record<string, string>>;
}

/**
 * A run-once Job under GitOps: named after a hash of its whole
 * pod template, so that Flux replaces it (force annotation) exactly when the template changes;
 * no TTL, so that Flux does not recreate and rerun it once it has finished; a native sidecar so
 * that it completes under STRICT mTLS with its own mesh identity; its own ServiceAccount and a
 * NetworkPolicy that lets it reach only what its relations opened.
 */
export class HashedJob extends Construct {
  public readonly baseName: string;
  /** The Job's name: the base name and a hash of the whole pod template. */
  public readonly jobName: string;
  public readonly job: k8s.KubeJob;
  public readonly client: RecordingDataClient;

  constructor(scope: Construct, id: string, props: HashedJobProps) {
    super(scope, id);
    const { baseName, namespace, labels } = props;
    this.baseName = baseName;
    const { client, template } = relatedJobPod(this, props);
    this.client = client;
    this.jobName = `${baseName}-${contentHash(k8s.toJson_PodTemplateSpec(template), 10)}`;
    this.job = new k8s.KubeJob(this, 'Resource', {
      metadata: {
        name: this.jobName,
        namespace,
        labels: withVersion(labels, props.version),
        annotations: { ...props.annotations, ...runOnceJobAnnotations() },
      },
      spec: { backoffLimit: props.backoffLimit, activeDeadlineSeconds: props.activeDeadlineSeconds, template },
    });
  }
}

/** What a Job's pod is made of, with or without a hash in its name: see HashedJobProps. */
export type JobPodProps = Omit<HashedJobProps, 'backoffLimit' | 'activeDeadlineSeconds' | 'annotations'>;

/**
 * The pod template of a Job that is a client of the data relations (its environment, its
 * files, its mesh identity through a native sidecar, the restricted security context), and the
 * objects around it in `scope`: its ServiceAccount, and a NetworkPolicy that lets it reach only
 * what its relations opened. For run-once Jobs (HashedJob) and scheduled ones (ScheduledJob).
 */
export function relatedJobPod(scope: Construct, props: JobPodProps): { client: RecordingDataClient; template: k8s.PodTemplateSpec } {
  const { baseName, namespace, labels } = props;
  // The Job is a client like any service: the relations give it its environment, its egress
  // and its place in the servers' policies.
  const client = new RecordingDataClient(baseName, namespace, selectorFor(labels), baseName);
  props.connect(client);

  // The relations' files (a server's CA) go into every container, like their variables.
  const files = toSecretVolumes(client.mounts);
  const volumes = [...(props.volumes ?? []), ...files.volumes];
  const initContainers = props.initContainers ?? [];
  const withRelations = (container: k8s.Container): k8s.Container => {
    const volumeMounts = [...(container.volumeMounts ?? []), ...files.volumeMounts];
    return {
      imagePullPolicy: 'IfNotPresent',
      securityContext: restrictedContainerSecurityContext(props.runAs),
      ...container,
      env: [...toEnvVars(client.env), ...(container.env ?? [])],
      ...(volumeMounts.length > 0 ? { volumeMounts } : {}),
    };
  };
  const imagePullSecrets = props.imagePullSecrets ?? [];
  const template: k8s.PodTemplateSpec = {
    metadata: { labels, annotations: { ...sidecarAnnotations(0), ...NATIVE_SIDECAR_ANNOTATION, ...props.podAnnotations } },
    spec: {
      serviceAccountName: baseName,
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      restartPolicy: 'Never',
      securityContext: restrictedPodSecurityContext(props.runAs),
      ...(imagePullSecrets.length > 0 ? { imagePullSecrets: [...imagePullSecrets] } : {}),
      ...(initContainers.length > 0 ? { initContainers: initContainers.map(withRelations) } : {}),
      containers: [withRelations(props.container)],
      ...(volumes.length > 0 ? { volumes: [...volumes] } : {}),
    },
  };

  new k8s.KubeServiceAccount(scope, 'ServiceAccount', {
    metadata: { name: baseName, namespace, labels },
    automountServiceAccountToken: false,
  });
  const policy = new WorkloadNetworkPolicy(scope, 'NetworkPolicy', {
    name: baseName,
    namespace,
    labels,
    podSelector: client.selectorLabels,
    mesh: props.mesh,
  });
  for (const rule of client.egress) policy.allowEgress(rule);
  return { client, template };
}
