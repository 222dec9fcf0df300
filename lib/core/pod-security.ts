import type { k8s } from 'cdk8s-plus-28';

/*
 * Pod Security Standards "restricted", the way every workload of the installation runs:
 * non-root, no privilege escalation, all capabilities dropped, the runtime's default seccomp
 * profile, a read-only root filesystem (writable paths are explicit emptyDir volumes).
 */

export interface PodUser {
  readonly uid: number;
  readonly gid: number;
}

export function restrictedPodSecurityContext(user: PodUser): k8s.PodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: user.uid,
    runAsGroup: user.gid,
    fsGroup: user.gid,
    fsGroupChangePolicy: 'OnRootMismatch',
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

export function restrictedContainerSecurityContext(user: PodUser): k8s.SecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: user.uid,
    runAsGroup: user.gid,
    allowPrivilegeEscalation: false,
    privileged: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}
