import { Construct } from 'constructs';
import { Kustomization, KustomizationSpecSourceRefKind } from '../imports/flux-kustomize-kustomize.toolkit.fluxcd.io';

export interface FluxLayerProps {
  /** The Kustomization's name, e.g. "prefect-data". */
  readonly name: string;
  readonly namespace: string;
  readonly labels: Record<string, string>;
  /** The folder in the Git repository, e.g. "./dist/prod/data". */
  readonly path: string;
  readonly sourceRef: { readonly name: string; readonly namespace: string };
  readonly interval: string;
  readonly retryInterval: string;
  readonly timeout: string;
  readonly prune: boolean;
  /**
   * The layer applied before this one. Flux starts this layer only once that one is ready.
   * @default - first layer
   */
  readonly after?: FluxLayer;
}

/**
 * One Flux `Kustomization` that applies one folder of `dist/<env>/`. `wait` makes the layer ready
 * only when every object it applied is healthy (Deployments rolled out, Jobs complete), so
 * `dependsOn` orders whole layers: CRDs before custom resources, migrations before services.
 */
export class FluxLayer extends Construct {
  public readonly name: string;
  public readonly resource: Kustomization;

  constructor(scope: Construct, id: string, props: FluxLayerProps) {
    super(scope, id);
    this.name = props.name;
    this.resource = new Kustomization(this, 'Resource', {
      metadata: { name: props.name, namespace: props.namespace, labels: props.labels },
      spec: {
        interval: props.interval,
        retryInterval: props.retryInterval,
        timeout: props.timeout,
        path: props.path,
        prune: props.prune,
        wait: true,
        sourceRef: { kind: KustomizationSpecSourceRefKind.GIT_REPOSITORY, name: props.sourceRef.name, namespace: props.sourceRef.namespace },
        ...(props.after ? { dependsOn: [{ name: props.after.name, namespace: props.namespace }] } : {}),
      },
    });
  }
}
