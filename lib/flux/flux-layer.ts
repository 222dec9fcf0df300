import { Construct } from 'constructs';
import {
  Kustomization,
  KustomizationSpecDecryptionProvider,
  KustomizationSpecDeletionPolicy,
  KustomizationSpecSourceRefKind,
  type KustomizationSpecHealthCheckExprs,
  type KustomizationSpecHealthChecks,
} from '../../imports/flux-kustomize-kustomize.toolkit.fluxcd.io';

/**
 * A layer that is ready once applied and once these objects are healthy, rather than once
 * every object is (`wait`).
 */
export interface LayerHealthChecks {
  /** Objects whose health the layer waits for; empty: ready once applied. */
  readonly healthChecks: readonly KustomizationSpecHealthChecks[];
  /** CEL rules for the kinds among them that kstatus cannot read. */
  readonly healthCheckExprs?: readonly KustomizationSpecHealthCheckExprs[];
}

export interface FluxLayerProps {
  /** The Kustomization's name, e.g. "prefect-data". */
  readonly name: string;
  readonly namespace: string;
  readonly labels: Record<string, string>;
  /** The folder in the source, e.g. "./dist/prod/data". */
  readonly path: string;
  readonly sourceRef: {
    readonly kind: 'GitRepository' | 'OCIRepository';
    readonly name: string;
    readonly namespace: string;
  };
  readonly interval: string;
  readonly retryInterval: string;
  readonly timeout: string;
  readonly prune: boolean;
  /** What Flux does with the layer's objects when this Kustomization is deleted. */
  readonly deletionPolicy: 'Orphan' | 'MirrorPrune' | 'Delete' | 'WaitForTermination';
  /**
   * SOPS decryption of the folder's Secrets with the key in this Secret of the Kustomization's namespace.
   * @default - no decryption
   */
  readonly sopsSecretRef?: string;
  /**
   * The layer applied before this one. Flux starts this layer only once that one is ready.
   * @default - first layer
   */
  readonly after?: FluxLayer;
  /**
   * When the layer is ready: `wait`, every object it applied is healthy; or a successful apply
   * plus the listed health checks only (an object that may take long, such as a certificate
   * from ACME, then does not hold back the layers after it). Either way the layer is ready only
   * once everything applied, which needs the CRDs of every custom resource in it.
   * @default 'wait'
   */
  readonly readiness?: 'wait' | LayerHealthChecks;
}

const SOURCE_KINDS = {
  GitRepository: KustomizationSpecSourceRefKind.GIT_REPOSITORY,
  OCIRepository: KustomizationSpecSourceRefKind.OCI_REPOSITORY,
} as const;

const DELETION_POLICIES = {
  Orphan: KustomizationSpecDeletionPolicy.ORPHAN,
  MirrorPrune: KustomizationSpecDeletionPolicy.MIRROR_PRUNE,
  Delete: KustomizationSpecDeletionPolicy.DELETE,
  WaitForTermination: KustomizationSpecDeletionPolicy.WAIT_FOR_TERMINATION,
} as const;

/**
 * One Flux `Kustomization` that applies one folder of `dist/<env>/`. `wait` makes the layer ready
 * only when every object it applied is healthy (Deployments rolled out, Jobs complete), so
 * `dependsOn` orders whole layers: CRDs before custom resources, migrations before services. A
 * layer with `readiness` health checks is ready once applied and once those are healthy.
 */
export class FluxLayer extends Construct {
  public readonly name: string;
  public readonly resource: Kustomization;

  constructor(scope: Construct, id: string, props: FluxLayerProps) {
    super(scope, id);
    this.name = props.name;
    const readiness = props.readiness ?? 'wait';
    if (readiness !== 'wait') {
      const checked = new Set(readiness.healthChecks.map((check) => check.kind));
      const unused = (readiness.healthCheckExprs ?? []).filter((expr) => !checked.has(expr.kind as string));
      // Flux evaluates the expressions only for the objects it health-checks.
      if (unused.length > 0)
        throw new Error(
          `Kustomization ${props.name}: health check expressions for ${unused.map((expr) => expr.kind).join(', ')}, which no health check names`,
        );
    }
    this.resource = new Kustomization(this, 'Resource', {
      metadata: { name: props.name, namespace: props.namespace, labels: props.labels },
      spec: {
        interval: props.interval,
        retryInterval: props.retryInterval,
        timeout: props.timeout,
        path: props.path,
        prune: props.prune,
        deletionPolicy: DELETION_POLICIES[props.deletionPolicy],
        ...(props.sopsSecretRef
          ? { decryption: { provider: KustomizationSpecDecryptionProvider.SOPS, secretRef: { name: props.sopsSecretRef } } }
          : {}),
        ...(readiness === 'wait'
          ? { wait: true }
          : {
              wait: false,
              ...(readiness.healthChecks.length > 0 ? { healthChecks: readiness.healthChecks.map((check) => ({ ...check })) } : {}),
              ...(readiness.healthCheckExprs?.length ? { healthCheckExprs: readiness.healthCheckExprs.map((expr) => ({ ...expr })) } : {}),
            }),
        sourceRef: {
          kind: SOURCE_KINDS[props.sourceRef.kind],
          name: props.sourceRef.name,
          namespace: props.sourceRef.namespace,
        },
        ...(props.after ? { dependsOn: [{ name: props.after.name, namespace: props.namespace }] } : {}),
      },
    });
  }
}
