/*
 * The Pod Security Standards (https://kubernetes.io/docs/concepts/security/pod-security-standards/),
 * one check per control, over every pod template and every container (init and ephemeral ones
 * included), as the PodSecurity admission controller evaluates them. "restricted" includes all of
 * "baseline": the controls that only baseline defines are named pss-baseline-*.
 *
 * Only what the manifest says is checked: containers that the cluster injects (Istio's
 * istio-proxy and istio-init) are not in the manifest and are not invented here.
 */
import { checksOf, type PolicyCheck } from '../check';
import { containersOf, EVERY_CONTAINER, hasPods, type Container, type PolicyObject, type SecurityContext, template } from '../model';

function everyContainer(object: PolicyObject): Array<{ container: Container; path: string }> {
  return containersOf(template(object), EVERY_CONTAINER);
}

/** Host namespaces: hostNetwork, hostPID and hostIPC unset or false. */
export function pssRestrictedHostNamespaces(object: PolicyObject): string[] {
  const { spec, specPath } = template(object);
  return (['hostNetwork', 'hostPID', 'hostIPC'] as const)
    .filter((field) => spec[field] === true)
    .map((field) => `${specPath}.${field} is true`);
}

/** Privileged containers: securityContext.privileged unset or false. */
export function pssRestrictedPrivileged(object: PolicyObject): string[] {
  return everyContainer(object)
    .filter(({ container }) => container.securityContext?.privileged === true)
    .map(({ path }) => `${path}.securityContext.privileged is true`);
}

/** HostPath volumes: forbidden. */
export function pssRestrictedHostPathVolumes(object: PolicyObject): string[] {
  const { spec, specPath } = template(object);
  return (spec.volumes ?? [])
    .filter((volume) => volume.hostPath !== undefined)
    .map((volume) => `${specPath}.volumes: "${volume.name}" is a hostPath volume (${volume.hostPath?.path ?? ''})`);
}

/** Host ports: unset or 0. */
export function pssRestrictedHostPorts(object: PolicyObject): string[] {
  return everyContainer(object).flatMap(({ container, path }) =>
    (container.ports ?? [])
      .filter((port) => port.hostPort !== undefined && port.hostPort !== 0)
      .map((port) => `${path}.ports: hostPort ${port.hostPort} is set`),
  );
}

/** The volume sources that the restricted profile allows. */
export const RESTRICTED_VOLUME_SOURCES: ReadonlySet<string> = new Set([
  'configMap',
  'csi',
  'downwardAPI',
  'emptyDir',
  'ephemeral',
  'persistentVolumeClaim',
  'projected',
  'secret',
]);

/** Volume types: only configMap, csi, downwardAPI, emptyDir, ephemeral, persistentVolumeClaim, projected, secret. */
export function pssRestrictedVolumeTypes(object: PolicyObject): string[] {
  const { spec, specPath } = template(object);
  return (spec.volumes ?? []).flatMap((volume) =>
    Object.keys(volume)
      .filter((key) => key !== 'name' && !RESTRICTED_VOLUME_SOURCES.has(key))
      .map((key) => `${specPath}.volumes: "${volume.name}" uses the ${key} volume type, which the restricted profile forbids`),
  );
}

/** Privilege escalation: every container sets allowPrivilegeEscalation: false. */
export function pssRestrictedPrivilegeEscalation(object: PolicyObject): string[] {
  return everyContainer(object)
    .filter(({ container }) => container.securityContext?.allowPrivilegeEscalation !== false)
    .map(({ path }) => `${path}.securityContext.allowPrivilegeEscalation must be false`);
}

/** Running as non-root: runAsNonRoot true on the pod (not overridden with false) or on every container. */
export function pssRestrictedRunAsNonRoot(object: PolicyObject): string[] {
  const { spec, specPath } = template(object);
  const podLevel = spec.securityContext?.runAsNonRoot;
  const problems: string[] = [];
  if (podLevel === false) problems.push(`${specPath}.securityContext.runAsNonRoot is false`);
  for (const { container, path } of everyContainer(object)) {
    const own = container.securityContext?.runAsNonRoot;
    if (own === false) problems.push(`${path}.securityContext.runAsNonRoot is false`);
    else if (own === undefined && podLevel !== true) problems.push(`${path}: runAsNonRoot is true neither on the container nor on the pod`);
  }
  return problems;
}

/** Running as non-root user: runAsUser is not 0 on the pod or any container. */
export function pssRestrictedRunAsUser(object: PolicyObject): string[] {
  const { spec, specPath } = template(object);
  const problems = spec.securityContext?.runAsUser === 0 ? [`${specPath}.securityContext.runAsUser is 0`] : [];
  for (const { container, path } of everyContainer(object)) {
    if (container.securityContext?.runAsUser === 0) problems.push(`${path}.securityContext.runAsUser is 0`);
  }
  return problems;
}

const allowedSeccomp = (context: SecurityContext | undefined) =>
  context?.seccompProfile?.type === 'RuntimeDefault' || context?.seccompProfile?.type === 'Localhost';

/** Seccomp: RuntimeDefault or Localhost on the pod or on every container; never Unconfined. */
export function pssRestrictedSeccomp(object: PolicyObject): string[] {
  const { spec, specPath } = template(object);
  const podType = spec.securityContext?.seccompProfile?.type;
  const problems: string[] = [];
  if (podType !== undefined && !allowedSeccomp(spec.securityContext))
    problems.push(`${specPath}.securityContext.seccompProfile.type is ${podType}`);
  for (const { container, path } of everyContainer(object)) {
    const own = container.securityContext?.seccompProfile?.type;
    if (own !== undefined && !allowedSeccomp(container.securityContext))
      problems.push(`${path}.securityContext.seccompProfile.type is ${own}`);
    else if (own === undefined && !allowedSeccomp(spec.securityContext))
      problems.push(`${path}: seccompProfile.type is RuntimeDefault or Localhost neither on the container nor on the pod`);
  }
  return problems;
}

/** The capabilities that "baseline" lets a container add. */
export const BASELINE_CAPABILITIES: ReadonlySet<string> = new Set([
  'AUDIT_WRITE',
  'CHOWN',
  'DAC_OVERRIDE',
  'FOWNER',
  'FSETID',
  'KILL',
  'MKNOD',
  'NET_BIND_SERVICE',
  'SETFCAP',
  'SETGID',
  'SETPCAP',
  'SETUID',
  'SYS_CHROOT',
]);

/** Capabilities: drop ALL, add at most NET_BIND_SERVICE (which also satisfies baseline's list). */
export function pssRestrictedCapabilities(object: PolicyObject): string[] {
  return everyContainer(object).flatMap(({ container, path }) => {
    const capabilities = container.securityContext?.capabilities;
    const problems: string[] = [];
    if (!(capabilities?.drop ?? []).includes('ALL')) problems.push(`${path}.securityContext.capabilities.drop must include ALL`);
    for (const added of capabilities?.add ?? []) {
      if (added !== 'NET_BIND_SERVICE')
        problems.push(
          `${path}.securityContext.capabilities.add has ${added}${BASELINE_CAPABILITIES.has(added) ? '' : ' (not allowed by baseline either)'}; only NET_BIND_SERVICE may be added`,
        );
    }
    return problems;
  });
}

/** HostProcess (baseline): windowsOptions.hostProcess unset or false. */
export function pssBaselineHostProcess(object: PolicyObject): string[] {
  const { spec, specPath } = template(object);
  const problems =
    spec.securityContext?.windowsOptions?.hostProcess === true ? [`${specPath}.securityContext.windowsOptions.hostProcess is true`] : [];
  for (const { container, path } of everyContainer(object)) {
    if (container.securityContext?.windowsOptions?.hostProcess === true)
      problems.push(`${path}.securityContext.windowsOptions.hostProcess is true`);
  }
  return problems;
}

const APPARMOR_ANNOTATION = 'container.apparmor.security.beta.kubernetes.io/';
const allowedAppArmor = (type: string | undefined) => type === undefined || type === 'RuntimeDefault' || type === 'Localhost';

/** AppArmor (baseline): profile unset, RuntimeDefault or Localhost (field or legacy annotation). */
export function pssBaselineApparmor(object: PolicyObject): string[] {
  const pod = template(object);
  const problems: string[] = [];
  const podType = pod.spec.securityContext?.appArmorProfile?.type;
  if (!allowedAppArmor(podType)) problems.push(`${pod.specPath}.securityContext.appArmorProfile.type is ${podType}`);
  for (const { container, path } of everyContainer(object)) {
    const type = container.securityContext?.appArmorProfile?.type;
    if (!allowedAppArmor(type)) problems.push(`${path}.securityContext.appArmorProfile.type is ${type}`);
  }
  for (const [key, value] of Object.entries(pod.annotations)) {
    if (key.startsWith(APPARMOR_ANNOTATION) && value !== 'runtime/default' && !value.startsWith('localhost/'))
      problems.push(`pod annotation ${key} is ${value}`);
  }
  return problems;
}

const ALLOWED_SELINUX_TYPES = new Set(['', 'container_t', 'container_init_t', 'container_kvm_t', 'container_engine_t']);

/** SELinux (baseline): type unset or one of the container types; user and role unset. */
export function pssBaselineSelinux(object: PolicyObject): string[] {
  const { spec, specPath } = template(object);
  const check = (context: SecurityContext | undefined, path: string): string[] => {
    const options = context?.seLinuxOptions;
    if (!options) return [];
    const problems: string[] = [];
    if (options.type !== undefined && !ALLOWED_SELINUX_TYPES.has(options.type))
      problems.push(`${path}.securityContext.seLinuxOptions.type is ${options.type}`);
    if (options.user) problems.push(`${path}.securityContext.seLinuxOptions.user is set`);
    if (options.role) problems.push(`${path}.securityContext.seLinuxOptions.role is set`);
    return problems;
  };
  return [
    ...check(spec.securityContext, specPath),
    ...everyContainer(object).flatMap(({ container, path }) => check(container.securityContext, path)),
  ];
}

/** /proc mount type (baseline): unset or Default. */
export function pssBaselineProcMount(object: PolicyObject): string[] {
  return everyContainer(object)
    .filter(({ container }) => container.securityContext?.procMount !== undefined && container.securityContext.procMount !== 'Default')
    .map(({ container, path }) => `${path}.securityContext.procMount is ${container.securityContext?.procMount}`);
}

/** The sysctls that "baseline" allows (Kubernetes 1.29+ list). */
export const SAFE_SYSCTLS: ReadonlySet<string> = new Set([
  'kernel.shm_rmid_forced',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.ping_group_range',
  'net.ipv4.ip_local_reserved_ports',
  'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
]);

/** Sysctls (baseline): only the safe set. */
export function pssBaselineSysctls(object: PolicyObject): string[] {
  const { spec, specPath } = template(object);
  return (spec.securityContext?.sysctls ?? [])
    .filter((sysctl) => !SAFE_SYSCTLS.has(sysctl.name))
    .map((sysctl) => `${specPath}.securityContext.sysctls: ${sysctl.name} is not a safe sysctl`);
}

const checkOf = checksOf('pod-security-standards');
/** Pod Security Standards controls apply to every object with pods. */
const check = (name: string, description: string, evaluate: PolicyCheck['evaluate']): PolicyCheck =>
  checkOf(name, description, hasPods, evaluate);

export const POD_SECURITY_CHECKS: readonly PolicyCheck[] = [
  check('pss-restricted-host-namespaces', 'pod shares a host namespace', pssRestrictedHostNamespaces),
  check('pss-restricted-privileged', 'privileged container', pssRestrictedPrivileged),
  check('pss-restricted-host-path-volumes', 'hostPath volume', pssRestrictedHostPathVolumes),
  check('pss-restricted-host-ports', 'container binds a host port', pssRestrictedHostPorts),
  check('pss-restricted-volume-types', 'volume type outside the restricted list', pssRestrictedVolumeTypes),
  check('pss-restricted-privilege-escalation', 'allowPrivilegeEscalation is not false', pssRestrictedPrivilegeEscalation),
  check('pss-restricted-run-as-non-root', 'runAsNonRoot is not true', pssRestrictedRunAsNonRoot),
  check('pss-restricted-run-as-user', 'runAsUser is 0', pssRestrictedRunAsUser),
  check('pss-restricted-seccomp', 'seccomp profile is not RuntimeDefault or Localhost', pssRestrictedSeccomp),
  check('pss-restricted-capabilities', 'capabilities not dropped to ALL (+NET_BIND_SERVICE)', pssRestrictedCapabilities),
  check('pss-baseline-host-process', 'Windows HostProcess container', pssBaselineHostProcess),
  check('pss-baseline-apparmor', 'AppArmor profile overridden', pssBaselineApparmor),
  check('pss-baseline-selinux', 'custom SELinux type, user or role', pssBaselineSelinux),
  check('pss-baseline-proc-mount', 'unmasked /proc', pssBaselineProcMount),
  check('pss-baseline-sysctls', 'sysctl outside the safe set', pssBaselineSysctls),
];
