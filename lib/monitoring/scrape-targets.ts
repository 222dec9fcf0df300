import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import {
  PodMonitor,
  PodMonitorSpecPodMetricsEndpointsRelabelingsAction as Action,
  PodMonitorSpecPodMetricsEndpointsScheme as Scheme,
  ServiceMonitor,
} from '../../imports/prometheus-operator-monitoring.coreos.com';

/*
 * How Prometheus reads the installation under STRICT mTLS. Every pod with an Istio sidecar has
 * its metrics served by the sidecar's agent on port 15020 (/stats/prometheus), outside the mTLS
 * listener: Istio's "metrics merging" joins the application's metrics (where the pod's
 * prometheus.io annotations point: a web service's /metrics, an exporter) with Envoy's, and the
 * injector rewrites those annotations to the agent. Prometheus, which has no mesh certificate,
 * scrapes that port in plain HTTP; the NetworkPolicy below opens it, and nothing else, to the
 * Prometheus pods. istiod serves its own metrics on 15014 without a sidecar. CloudNativePG's
 * instances, outside the mesh, serve theirs over TLS with their server certificate.
 */

/** The agent's port where the merged metrics are (Istio's `prometheus.io/port` after injection). */
export const MERGED_METRICS_PORT = 15020;
/** istiod's monitoring port (its Service's "http-monitoring"). */
export const ISTIOD_MONITORING_PORT = 'http-monitoring';

export interface MeshPodMonitorProps {
  readonly namespace: string;
  readonly labels: Record<string, string>;
  /** The pods of the namespace to scrape (all of this installation's when empty). */
  readonly selector: Record<string, string>;
}

/**
 * A PodMonitor of every sidecar-injected pod of a namespace that announces metrics: one target
 * per pod (the istio-proxy container's one declared port, Envoy's 15090, chosen only to name the
 * pod once), whose address and path become those of the annotations: the agent's merged metrics.
 * Each series gets the pod's namespace, pod and workload (its app.kubernetes.io/name), which the
 * alert rules select on.
 */
export class MeshPodMonitor extends Construct {
  constructor(scope: Construct, id: string, props: MeshPodMonitorProps) {
    super(scope, id);
    new PodMonitor(this, 'Resource', {
      metadata: { name: 'mesh-pods', namespace: props.namespace, labels: props.labels },
      spec: {
        selector: { matchLabels: props.selector },
        namespaceSelector: { matchNames: [props.namespace] },
        podMetricsEndpoints: [
          {
            path: '/stats/prometheus',
            interval: '30s',
            relabelings: [
              { sourceLabels: ['__meta_kubernetes_pod_container_name'], regex: 'istio-proxy', action: Action.KEEP },
              { sourceLabels: ['__meta_kubernetes_pod_container_port_name'], regex: 'http-envoy-prom', action: Action.KEEP },
              { sourceLabels: ['__meta_kubernetes_pod_annotation_prometheus_io_scrape'], regex: 'true', action: Action.KEEP },
              {
                sourceLabels: ['__meta_kubernetes_pod_annotation_prometheus_io_path'],
                regex: '(.+)',
                targetLabel: '__metrics_path__',
                action: Action.REPLACE,
              },
              // The pod's address with the annotation's port (IPv4, then IPv6 in brackets).
              {
                sourceLabels: ['__meta_kubernetes_pod_annotation_prometheus_io_port', '__meta_kubernetes_pod_ip'],
                regex: '(\\d+);(\\d+\\.\\d+\\.\\d+\\.\\d+)',
                replacement: '$2:$1',
                targetLabel: '__address__',
                action: Action.REPLACE,
              },
              {
                sourceLabels: ['__meta_kubernetes_pod_annotation_prometheus_io_port', '__meta_kubernetes_pod_ip'],
                regex: '(\\d+);([0-9A-Fa-f:]+)',
                replacement: '[$2]:$1',
                targetLabel: '__address__',
                action: Action.REPLACE,
              },
              { sourceLabels: ['__meta_kubernetes_pod_label_app_kubernetes_io_name'], targetLabel: 'workload', action: Action.REPLACE },
              { sourceLabels: ['__meta_kubernetes_namespace'], targetLabel: 'namespace', action: Action.REPLACE },
              { sourceLabels: ['__meta_kubernetes_pod_name'], targetLabel: 'pod', action: Action.REPLACE },
            ],
          },
        ],
      },
    });
  }
}

export interface CloudNativePgPodMonitorProps {
  readonly namespace: string;
  readonly labels: Record<string, string>;
  /** The Cluster's name. */
  readonly cluster: string;
  /** The Secret of the instances' CA (ca.crt) and the name their certificate is issued for. */
  readonly tls: { readonly caSecret: string; readonly serverName: string };
}

/**
 * The exporter of every CloudNativePG instance (its "metrics" port, over TLS: the Cluster's
 * `monitoring.tls`), as CloudNativePG's monitoring guide recommends instead of the deprecated
 * `enablePodMonitor`. The certificate is checked against the Cluster's own CA, for the name of
 * its read-write Service; the series get the Cluster as their workload.
 */
export class CloudNativePgPodMonitor extends Construct {
  /** "<cluster>-instances". */
  public readonly name: string;

  constructor(scope: Construct, id: string, props: CloudNativePgPodMonitorProps) {
    super(scope, id);
    this.name = `${props.cluster}-instances`;
    new PodMonitor(this, 'Resource', {
      metadata: { name: this.name, namespace: props.namespace, labels: props.labels },
      spec: {
        selector: { matchLabels: { 'cnpg.io/cluster': props.cluster, 'cnpg.io/podRole': 'instance' } },
        namespaceSelector: { matchNames: [props.namespace] },
        podMetricsEndpoints: [
          {
            port: 'metrics',
            scheme: Scheme.HTTPS,
            tlsConfig: { ca: { secret: { name: props.tls.caSecret, key: 'ca.crt' } }, serverName: props.tls.serverName },
            interval: '30s',
            relabelings: [
              { sourceLabels: ['__meta_kubernetes_pod_label_cnpg_io_cluster'], targetLabel: 'workload', action: Action.REPLACE },
            ],
          },
        ],
      },
    });
  }
}

export interface IstiodServiceMonitorProps {
  readonly namespace: string;
  readonly labels: Record<string, string>;
}

/** istiod's metrics (pilot_*, xDS pushes, certificate signing), on its Service's monitoring port. */
export class IstiodServiceMonitor extends Construct {
  constructor(scope: Construct, id: string, props: IstiodServiceMonitorProps) {
    super(scope, id);
    new ServiceMonitor(this, 'Resource', {
      metadata: { name: 'istiod', namespace: props.namespace, labels: props.labels },
      spec: {
        selector: { matchLabels: { app: 'istiod' } },
        namespaceSelector: { matchNames: [props.namespace] },
        endpoints: [{ port: ISTIOD_MONITORING_PORT, interval: '30s' }],
      },
    });
  }
}

export interface PrometheusScrapeAccessProps {
  readonly namespace: string;
  readonly labels: Record<string, string>;
  readonly prometheus: { readonly namespace: string; readonly podLabels: Record<string, string> };
  /** @default "prometheus-scrape" */
  readonly name?: string;
  /** The pods Prometheus may reach. @default - every pod of the namespace */
  readonly podSelector?: Record<string, string>;
  /** The port it may reach them on. @default MERGED_METRICS_PORT */
  readonly port?: number;
}

/**
 * In a namespace with the default-deny policy: the Prometheus pods may reach the agents' merged
 * metrics port of every pod (or another port of some pods: CloudNativePG's exporter), and nothing else. (The port is outside the mesh's listener, so no
 * AuthorizationPolicy applies to it; the applications' own ports stay behind mTLS.)
 */
export class PrometheusScrapeAccess extends Construct {
  public readonly name: string;

  constructor(scope: Construct, id: string, props: PrometheusScrapeAccessProps) {
    super(scope, id);
    this.name = props.name ?? 'prometheus-scrape';
    new k8s.KubeNetworkPolicy(this, 'Resource', {
      metadata: { name: this.name, namespace: props.namespace, labels: props.labels },
      spec: {
        podSelector: props.podSelector ? { matchLabels: { ...props.podSelector } } : {},
        policyTypes: ['Ingress'],
        ingress: [
          {
            from: [
              {
                namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': props.prometheus.namespace } },
                podSelector: { matchLabels: { ...props.prometheus.podLabels } },
              },
            ],
            ports: [{ protocol: 'TCP', port: k8s.IntOrString.fromNumber(props.port ?? MERGED_METRICS_PORT) }],
          },
        ],
      },
    });
  }
}
