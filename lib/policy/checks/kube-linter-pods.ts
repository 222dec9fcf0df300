/*
 * kube-linter's pod and container checks (stackrox/kube-linter, pkg/builtinchecks/yamls and
 * pkg/templates): host access, security contexts, images, environment, ports, probes and
 * resources, with the helpers that walk a pod's containers. The object checks and the registry
 * of every kube-linter check are in kube-linter.ts.
 */
import { containersOf, quantityValue, template, type Container, type PolicyObject, type Probe } from '../model';

/** Runs `check` on every init and regular container ("PerContainerCheck"). */
export function perContainer(object: PolicyObject, check: (container: Container) => string[]): string[] {
  return containersOf(template(object)).flatMap(({ container }) => check(container));
}

/** Runs `check` on every regular container ("PerNonInitContainerCheck"). */
function perNonInitContainer(object: PolicyObject, check: (container: Container) => string[]): string[] {
  return containersOf(template(object), ['container']).flatMap(({ container }) => check(container));
}

/** Messages for every container that mounts a host path matching `patterns`. */
function hostPathMounts(object: PolicyObject, patterns: readonly RegExp[]): string[] {
  const pod = template(object);
  const messages: string[] = [];
  for (const volume of pod.spec.volumes ?? []) {
    const hostPath = volume.hostPath?.path;
    if (hostPath === undefined || !patterns.some((pattern) => pattern.test(hostPath))) continue;
    for (const { container } of containersOf(pod)) {
      if ((container.volumeMounts ?? []).some((mount) => mount.name === volume.name)) {
        messages.push(`host system directory "${hostPath}" is mounted on container "${container.name}"`);
      }
    }
  }
  return messages;
}

// --- Pod and container security ----------------------------------------------------------------

export function hostIpc(object: PolicyObject): string[] {
  return template(object).spec.hostIPC === true ? ["resource shares host's IPC namespace (via hostIPC=true)."] : [];
}

export function hostNetwork(object: PolicyObject): string[] {
  return template(object).spec.hostNetwork === true ? ["resource shares host's network namespace (via hostNetwork=true)."] : [];
}

export function hostPid(object: PolicyObject): string[] {
  return template(object).spec.hostPID === true ? ["object shares the host's process namespace (via hostPID=true)."] : [];
}

/** docker-sock: no container may mount the Docker socket from the host. */
export function dockerSock(object: PolicyObject): string[] {
  return hostPathMounts(object, [/docker\.sock$/]);
}

/** sensitive-host-mounts: no container may mount /, /boot, /dev, /etc, /lib, /proc, /sys or /usr from the host. */
export function sensitiveHostMounts(object: PolicyObject): string[] {
  return hostPathMounts(object, [/^\/$/, /^\/boot$/, /^\/dev$/, /^\/etc$/, /^\/lib$/, /^\/proc$/, /^\/sys$/, /^\/usr$/]);
}

const isAll = (capability: string) => /^all$/i.test(capability);

/**
 * drop-net-raw-capability: NET_RAW (or ALL) must be dropped and not added. As upstream, a
 * container without `securityContext.capabilities` is not flagged (Pod Security admission refuses it: test/real-tools/api-server.test.ts).
 */
export function dropNetRawCapability(object: PolicyObject): string[] {
  return perContainer(object, (container) => {
    const capabilities = container.securityContext?.capabilities;
    if (!capabilities) return [];
    const messages: string[] = [];
    for (const added of capabilities.add ?? []) {
      if (added === 'NET_RAW' || isAll(added))
        messages.push(
          `container "${container.name}" has ADD capability: "${added}", which matched with the forbidden capability for containers`,
        );
    }
    const drop = capabilities.drop ?? [];
    if (!drop.some((dropped) => dropped === 'NET_RAW' || isAll(dropped))) {
      messages.push(
        `container "${container.name}" has DROP capabilities: [${drop.join(' ')}], but does not drop capability "NET_RAW" which is required`,
      );
    }
    return messages;
  });
}

/** privilege-escalation-container: no allowPrivilegeEscalation: true, privileged: true or SYS_ADMIN. */
export function privilegeEscalationContainer(object: PolicyObject): string[] {
  return perContainer(object, (container) => {
    const context = container.securityContext;
    if (!context) return [];
    if (context.allowPrivilegeEscalation === true) return [`container "${container.name}" has AllowPrivilegeEscalation set to true.`];
    if (context.privileged === true) return [`container "${container.name}" is Privileged hence allows privilege escalation.`];
    if ((context.capabilities?.add ?? []).includes('SYS_ADMIN'))
      return [`container "${container.name}" has SYS_ADMIN capability hence allows privilege escalation.`];
    return [];
  });
}

export function privilegedContainer(object: PolicyObject): string[] {
  return perContainer(object, (container) =>
    container.securityContext?.privileged === true ? [`container "${container.name}" is privileged`] : [],
  );
}

export function noReadOnlyRootFs(object: PolicyObject): string[] {
  return perContainer(object, (container) =>
    container.securityContext?.readOnlyRootFilesystem === true
      ? []
      : [`container "${container.name}" does not have a read-only root file system`],
  );
}

/**
 * run-as-non-root: the effective (container, else pod) runAsUser and runAsGroup are non-zero, or
 * runAsNonRoot is true (and runAsUser is not 0); runAsGroup must be set and not 0 either way.
 */
export function runAsNonRoot(object: PolicyObject): string[] {
  const pod = template(object);
  return perContainer(object, (container) => {
    const own = container.securityContext;
    const podContext = pod.spec.securityContext;
    const user = own?.runAsUser ?? podContext?.runAsUser;
    const group = own?.runAsGroup ?? podContext?.runAsGroup;
    if (typeof user === 'number' && user > 0 && typeof group === 'number' && group > 0) return [];
    const messages: string[] = [];
    if (group === 0) messages.push(`container "${container.name}" has runAsGroup set to 0`);
    if (group === undefined) messages.push(`container "${container.name}" does not have runAsGroup set`);
    const nonRoot = own?.runAsNonRoot ?? podContext?.runAsNonRoot ?? false;
    if (nonRoot) {
      if (user === 0) messages.push(`container "${container.name}" is set to runAsNonRoot, but runAsUser set to 0`);
      return messages;
    }
    messages.push(`container "${container.name}" is not set to runAsNonRoot`);
    return messages;
  });
}

const UNSAFE_SYSCTL_PREFIXES = ['kernel.msg', 'kernel.sem', 'kernel.shm', 'fs.mqueue.', 'net.'];

export function unsafeSysctls(object: PolicyObject): string[] {
  return (template(object).spec.securityContext?.sysctls ?? [])
    .filter((sysctl) => UNSAFE_SYSCTL_PREFIXES.some((prefix) => sysctl.name.startsWith(prefix)))
    .map((sysctl) => `${object.metadata.name} has unsafe allocation to resource ${sysctl.name}.`);
}

// --- Containers: images, env, ports, probes, resources ------------------------------------------

/** The default BlockList of latest-tag: `:latest`, no tag at all, or a registry:port with no tag. */
const LATEST_TAG_BLOCKLIST = [/.*:(latest)$/, /^[^:]*$/, /(.*\/[^:]+)$/];

export function latestTag(object: PolicyObject): string[] {
  return perContainer(object, (container) => {
    const image = container.image ?? '';
    return LATEST_TAG_BLOCKLIST.some((pattern) => pattern.test(image))
      ? [
          `The container "${container.name}" is using an invalid container image, "${image}". Please use images that are not blocked by the \`BlockList\` criteria`,
        ]
      : [];
  });
}

/** env-var-secret: no environment variable named like *secret* with a literal value (use secretKeyRef). */
export function envVarSecret(object: PolicyObject): string[] {
  return perContainer(object, (container) =>
    (container.env ?? [])
      .filter((variable) => /secret/i.test(variable.name) && typeof variable.value === 'string' && variable.value.length > 0)
      .map((variable) => `environment variable ${variable.name} in container "${container.name}" found`),
  );
}

export function duplicateEnvVar(object: PolicyObject): string[] {
  return perContainer(object, (container) => {
    const seen = new Map<string, number>();
    const messages: string[] = [];
    for (const variable of container.env ?? []) {
      const count = (seen.get(variable.name) ?? 0) + 1;
      seen.set(variable.name, count);
      if (count === 2) messages.push(`Duplicate environment variable ${variable.name} in container "${container.name}" found`);
    }
    return messages;
  });
}

export function sshPort(object: PolicyObject): string[] {
  return perContainer(object, (container) =>
    (container.ports ?? [])
      .filter((port) => port.containerPort === 22 && (port.protocol ?? 'TCP') === 'TCP')
      .map(() => `port 22 and protocol TCP in container "${container.name}" found`),
  );
}

/** A probe's port must be one the container declares (by number or name, TCP only). */
function probePortProblems(container: Container, probe: Probe | null | undefined): string[] {
  if (!probe) return [];
  const exposed = new Set<string>();
  for (const port of container.ports ?? []) {
    if (port.protocol !== undefined && port.protocol !== '' && port.protocol !== 'TCP') continue;
    if (port.containerPort !== undefined) exposed.add(`int:${port.containerPort}`);
    exposed.add(`str:${port.name ?? ''}`);
  }
  const key = (port: number | string | undefined) => (typeof port === 'number' ? `int:${port}` : `str:${port ?? ''}`);
  if (probe.httpGet && !exposed.has(key(probe.httpGet.port)))
    return [`container "${container.name}" does not expose port ${probe.httpGet.port} for the HTTPGet`];
  if (probe.tcpSocket && !exposed.has(key(probe.tcpSocket.port)))
    return [`container "${container.name}" does not expose port ${probe.tcpSocket.port} for the TCPSocket`];
  if (probe.grpc && !exposed.has(key(probe.grpc.port)))
    return [`container "${container.name}" does not expose port ${probe.grpc.port} for the GRPC check`];
  return [];
}

export function livenessPort(object: PolicyObject): string[] {
  return perContainer(object, (container) => probePortProblems(container, container.livenessProbe));
}

export function readinessPort(object: PolicyObject): string[] {
  return perContainer(object, (container) => probePortProblems(container, container.readinessProbe));
}

export function startupPort(object: PolicyObject): string[] {
  return perContainer(object, (container) => probePortProblems(container, container.startupProbe));
}

export function noLivenessProbe(object: PolicyObject): string[] {
  return perNonInitContainer(object, (container) =>
    container.livenessProbe ? [] : [`container "${container.name}" does not specify a liveness probe`],
  );
}

export function noReadinessProbe(object: PolicyObject): string[] {
  return perNonInitContainer(object, (container) =>
    container.readinessProbe ? [] : [`container "${container.name}" does not specify a readiness probe`],
  );
}

/** unset-cpu-requirements: every container requests CPU (upstream's current default: requests only, no limit). */
export function unsetCpuRequirements(object: PolicyObject): string[] {
  return perContainer(object, (container) => {
    const request = quantityValue(container.resources?.requests?.cpu);
    return request === undefined || request === 0 ? [`container "${container.name}" has cpu request 0`] : [];
  });
}

/** unset-memory-requirements: every container has a memory limit (upstream's current default: the limit). */
export function unsetMemoryRequirements(object: PolicyObject): string[] {
  return perContainer(object, (container) => {
    const limit = quantityValue(container.resources?.limits?.memory);
    return limit === undefined || limit === 0 ? [`container "${container.name}" has memory limit 0`] : [];
  });
}
