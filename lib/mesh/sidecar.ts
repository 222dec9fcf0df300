/*
 * The Istio sidecar's resources, set explicitly on every injected pod (Istio's own defaults
 * are the same requests), so that the capacity check counts exactly what the cluster reserves.
 */
export const SIDECAR_RESOURCES = { cpu: '100m', memory: '128Mi', memoryLimit: '256Mi' } as const;

/** Pod annotations that size the injected istio-proxy container and drain it after the app. */
export function sidecarAnnotations(drainSeconds: number): Record<string, string> {
  return {
    'sidecar.istio.io/proxyCPU': SIDECAR_RESOURCES.cpu,
    'sidecar.istio.io/proxyMemory': SIDECAR_RESOURCES.memory,
    'sidecar.istio.io/proxyMemoryLimit': SIDECAR_RESOURCES.memoryLimit,
    // The proxy keeps serving in-flight requests while the app drains, and starts before it.
    'proxy.istio.io/config': JSON.stringify({ holdApplicationUntilProxyStarts: true, terminationDrainDuration: `${drainSeconds}s` }),
  };
}

/**
 * Where a pod's metrics are, in the annotations Prometheus's Kubernetes discovery reads. Istio's
 * injector moves them to the sidecar's agent (port 15020, /stats/prometheus), which merges the
 * application's metrics with Envoy's and serves them without mTLS: Prometheus scrapes that port
 * under STRICT (README, "Monitoring").
 */
export function prometheusScrapeAnnotations(port: number, path: string): Record<string, string> {
  return { 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(port), 'prometheus.io/path': path };
}

/** Opts a pod out of injection (Jobs: a sidecar would keep the pod running after the job ends). */
export const NO_SIDECAR_LABEL = { 'sidecar.istio.io/inject': 'false' } as const;
