import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { POLICY_CHECKS } from '../../lib/policy/checks/index';
import { DISABLED_CHECKS, EXEMPTIONS, type Exemption } from '../../lib/policy/exemptions';

const POLARIS_EXEMPT = 'polaris.fairwinds.com/deploymentMissingReplicas-exempt';
const KUBE_LINTER_EXEMPT = 'ignore-check.kube-linter.io/no-liveness-probe';
import { listDistEnvironments, loadDistEnvironment } from '../../lib/policy/load';
import type { PolicyObject } from '../../lib/policy/model';
import { formatReport, runCheck, runPolicy, type PolicyInput } from '../../lib/policy/run';
import { PROJECT_ROOT, run } from '../helpers';
import { application, applicationWithJob, deployment, edited, job, NAMESPACE, withContainer, without, withPod } from './policy-fixtures';

interface Case {
  readonly check: string;
  /** What the bad manifest does wrong. */
  readonly does: string;
  readonly bad: () => PolicyObject[];
  /** The object expected to fail; the web Deployment unless given. */
  readonly target?: readonly [kind: string, name: string];
  /** A manifest that passes; the compliant application unless given. */
  readonly good?: () => PolicyObject[];
}

const SERVICE = ['Service', 'web'] as const;
const PDB = ['PodDisruptionBudget', 'web'] as const;
const HPA = ['HorizontalPodAutoscaler', 'web'] as const;
const JOB = ['Job', 'migrate'] as const;
const withJob = (edit: (object: any) => void) => edited(applicationWithJob(), 'Job', 'migrate', edit);
const hostPathVolume = (hostPath: string) =>
  withPod((spec) => {
    spec.volumes.push({ name: 'host', hostPath: { path: hostPath } });
    spec.containers[0].volumeMounts.push({ name: 'host', mountPath: '/host' });
  });
/** One replica and no HPA to scale it (an autoscaled Deployment passes deploymentMissingReplicas). */
const singleReplica = () =>
  without(
    edited(application(), 'Deployment', 'web', (object) => (object.spec.replicas = 1)),
    'HorizontalPodAutoscaler',
    'web',
  );
const noRootSettings = () =>
  withPod((spec) => {
    delete spec.securityContext.runAsNonRoot;
    delete spec.securityContext.runAsUser;
    delete spec.containers[0].securityContext.runAsNonRoot;
    delete spec.containers[0].securityContext.runAsUser;
  });

const CASES: readonly Case[] = [
  // kube-linter
  {
    check: 'dangling-service',
    does: 'selects labels no pod has',
    target: SERVICE,
    bad: () => edited(application(), 'Service', 'web', (service) => (service.spec.selector = { app: 'nothing' })),
  },
  {
    check: 'dangling-service',
    does: 'has no selector',
    target: SERVICE,
    bad: () => edited(application(), 'Service', 'web', (service) => delete service.spec.selector),
  },
  { check: 'deprecated-service-account-field', does: 'sets serviceAccount', bad: () => withPod((spec) => (spec.serviceAccount = 'web')) },
  { check: 'docker-sock', does: 'mounts /var/run/docker.sock', bad: () => hostPathVolume('/var/run/docker.sock') },
  {
    check: 'drop-net-raw-capability',
    does: 'drops CHOWN only',
    bad: () => withContainer((container) => (container.securityContext.capabilities = { drop: ['CHOWN'] })),
  },
  {
    check: 'duplicate-env-var',
    does: 'sets LOG_LEVEL twice',
    bad: () => withContainer((container) => container.env.push({ name: 'LOG_LEVEL', value: 'debug' })),
  },
  {
    check: 'env-var-secret',
    does: 'puts a literal in CLIENT_SECRET',
    bad: () => withContainer((container) => container.env.push({ name: 'CLIENT_SECRET', value: 'hunter2' })),
  },
  { check: 'host-ipc', does: 'sets hostIPC', bad: () => withPod((spec) => (spec.hostIPC = true)) },
  { check: 'host-network', does: 'sets hostNetwork', bad: () => withPod((spec) => (spec.hostNetwork = true)) },
  { check: 'host-pid', does: 'sets hostPID', bad: () => withPod((spec) => (spec.hostPID = true)) },
  {
    check: 'invalid-target-ports',
    does: 'names a container port HTTP_PORT',
    bad: () => withContainer((container) => (container.ports[0].name = 'HTTP_PORT')),
  },
  {
    check: 'invalid-target-ports',
    does: "uses targetPort 'web--http-port-name'",
    target: SERVICE,
    bad: () => edited(application(), 'Service', 'web', (service) => (service.spec.ports[0].targetPort = 'web--http-port-name')),
  },
  {
    check: 'job-ttl-seconds-after-finished',
    does: 'is a Job without ttlSecondsAfterFinished',
    target: JOB,
    good: applicationWithJob,
    bad: () => withJob((object) => delete object.spec.ttlSecondsAfterFinished),
  },
  {
    check: 'job-ttl-seconds-after-finished',
    does: 'is a CronJob whose jobs set ttlSecondsAfterFinished',
    target: ['CronJob', 'nightly'],
    good: applicationWithJob,
    bad: () => [
      ...application(),
      {
        apiVersion: 'batch/v1',
        kind: 'CronJob',
        metadata: { name: 'nightly', namespace: NAMESPACE },
        spec: {
          schedule: '0 3 * * *',
          jobTemplate: { spec: { ttlSecondsAfterFinished: 60, template: structuredClone((job().spec as any).template) } },
        },
      },
    ],
  },
  {
    check: 'latest-tag',
    does: 'runs :latest',
    bad: () => withContainer((container) => (container.image = 'registry.example.com/web:latest')),
  },
  {
    check: 'latest-tag',
    does: 'runs a registry:port image without a tag',
    bad: () => withContainer((container) => (container.image = 'registry.example.com:5000/web')),
  },
  {
    check: 'liveness-port',
    does: 'probes port 9999',
    bad: () => withContainer((container) => (container.livenessProbe.httpGet.port = 9999)),
  },
  {
    check: 'readiness-port',
    does: 'probes port "metrics"',
    bad: () => withContainer((container) => (container.readinessProbe.httpGet.port = 'metrics')),
  },
  {
    check: 'startup-port',
    does: 'probes a TCP port it does not expose',
    bad: () => withContainer((container) => (container.startupProbe = { tcpSocket: { port: 9999 } })),
  },
  {
    check: 'mismatching-selector',
    does: 'selects app=other',
    bad: () => edited(application(), 'Deployment', 'web', (object) => (object.spec.selector.matchLabels = { app: 'other' })),
  },
  { check: 'no-anti-affinity', does: 'runs 3 replicas without anti-affinity', bad: () => withPod((spec) => delete spec.affinity) },
  {
    check: 'no-anti-affinity',
    does: 'uses a zone topology key',
    bad: () =>
      withPod(
        (spec) =>
          (spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.topologyKey =
            'topology.kubernetes.io/zone'),
      ),
  },
  {
    check: 'no-extensions-v1beta',
    does: 'uses extensions/v1beta1',
    bad: () => edited(application(), 'Deployment', 'web', (object) => (object.apiVersion = 'extensions/v1beta1')),
  },
  {
    check: 'no-read-only-root-fs',
    does: 'has a writable root filesystem',
    bad: () => withContainer((container) => (container.securityContext.readOnlyRootFilesystem = false)),
  },
  {
    check: 'non-existent-service-account',
    does: 'uses a ServiceAccount that is not among the objects',
    bad: () => withPod((spec) => (spec.serviceAccountName = 'missing')),
  },
  {
    check: 'pdb-max-unavailable',
    does: 'sets maxUnavailable 0',
    target: PDB,
    bad: () => edited(application(), 'PodDisruptionBudget', 'web', (pdb) => (pdb.spec.maxUnavailable = 0)),
  },
  {
    check: 'pdb-min-available',
    does: 'sets minAvailable to the replica count',
    target: PDB,
    bad: () =>
      edited(application(), 'PodDisruptionBudget', 'web', (pdb) => {
        delete pdb.spec.maxUnavailable;
        pdb.spec.minAvailable = 3;
      }),
  },
  {
    check: 'pdb-unhealthy-pod-eviction-policy',
    does: 'leaves unhealthyPodEvictionPolicy unset',
    target: PDB,
    bad: () => edited(application(), 'PodDisruptionBudget', 'web', (pdb) => delete pdb.spec.unhealthyPodEvictionPolicy),
  },
  {
    check: 'privilege-escalation-container',
    does: 'allows privilege escalation',
    bad: () => withContainer((container) => (container.securityContext.allowPrivilegeEscalation = true)),
  },
  {
    check: 'privileged-container',
    does: 'runs privileged',
    bad: () => withContainer((container) => (container.securityContext.privileged = true)),
  },
  { check: 'run-as-non-root', does: 'sets neither runAsNonRoot nor a user', bad: noRootSettings },
  { check: 'sensitive-host-mounts', does: 'mounts /etc', bad: () => hostPathVolume('/etc') },
  {
    check: 'ssh-port',
    does: 'exposes port 22',
    bad: () => withContainer((container) => container.ports.push({ name: 'ssh', containerPort: 22 })),
  },
  {
    check: 'unsafe-sysctls',
    does: 'sets net.core.somaxconn',
    bad: () => withPod((spec) => (spec.securityContext.sysctls = [{ name: 'net.core.somaxconn', value: '1024' }])),
  },
  {
    check: 'unset-cpu-requirements',
    does: 'requests no CPU',
    bad: () => withContainer((container) => delete container.resources.requests.cpu),
  },
  {
    check: 'unset-memory-requirements',
    does: 'has no memory limit',
    bad: () => withContainer((container) => delete container.resources.limits.memory),
  },
  { check: 'no-liveness-probe', does: 'has no liveness probe', bad: () => withContainer((container) => delete container.livenessProbe) },
  { check: 'no-readiness-probe', does: 'has no readiness probe', bad: () => withContainer((container) => delete container.readinessProbe) },
  {
    check: 'non-isolated-pod',
    does: 'is selected by no NetworkPolicy',
    bad: () => edited(application(), 'NetworkPolicy', 'web', (policy) => (policy.spec.podSelector.matchLabels = { app: 'other' })),
  },
  {
    check: 'dangling-networkpolicy',
    does: 'selects no pod',
    target: ['NetworkPolicy', 'web'],
    bad: () => edited(application(), 'NetworkPolicy', 'web', (policy) => (policy.spec.podSelector.matchLabels = { app: 'other' })),
  },
  {
    check: 'default-service-account',
    does: 'runs as the default ServiceAccount with a token',
    bad: () =>
      withPod((spec) => {
        delete spec.serviceAccountName;
        delete spec.automountServiceAccountToken;
      }),
  },
  {
    check: 'use-namespace',
    does: 'lives in the default namespace',
    bad: () => edited(application(), 'Deployment', 'web', (object) => (object.metadata.namespace = 'default')),
  },
  // Polaris
  { check: 'deploymentMissingReplicas', does: 'runs 1 replica without an autoscaler', bad: () => singleReplica() },
  {
    check: 'tagNotSpecified',
    does: 'names no tag',
    bad: () => withContainer((container) => (container.image = 'registry.example.com/web')),
  },
  {
    check: 'readinessProbeMissing',
    does: 'has no readiness probe',
    bad: () => withContainer((container) => delete container.readinessProbe),
  },
  { check: 'livenessProbeMissing', does: 'has no liveness probe', bad: () => withContainer((container) => delete container.livenessProbe) },
  {
    check: 'pdbDisruptionsIsZero',
    does: 'sets maxUnavailable 0%',
    target: PDB,
    bad: () => edited(application(), 'PodDisruptionBudget', 'web', (pdb) => (pdb.spec.maxUnavailable = '0%')),
  },
  { check: 'missingPodDisruptionBudget', does: 'has no budget', bad: () => without(application(), 'PodDisruptionBudget', 'web') },
  {
    check: 'topologySpreadConstraint',
    does: 'declares no spread constraint',
    bad: () => withPod((spec) => delete spec.topologySpreadConstraints),
  },
  {
    check: 'hpaMaxAvailability',
    does: 'sets maxReplicas = minReplicas',
    target: HPA,
    bad: () => edited(application(), 'HorizontalPodAutoscaler', 'web', (hpa) => (hpa.spec.maxReplicas = 3)),
  },
  {
    check: 'hpaMinAvailability',
    does: 'sets minReplicas 1',
    target: HPA,
    bad: () => edited(application(), 'HorizontalPodAutoscaler', 'web', (hpa) => (hpa.spec.minReplicas = 1)),
  },
  {
    check: 'pdbMinAvailableGreaterThanHPAMinReplicas',
    does: 'needs 4 pods available while the HPA may scale to 3',
    bad: () =>
      edited(application(), 'PodDisruptionBudget', 'web', (pdb) => {
        delete pdb.spec.maxUnavailable;
        pdb.spec.minAvailable = 4;
      }),
  },
  {
    check: 'cpuRequestsMissing',
    does: 'requests no CPU',
    bad: () => withContainer((container) => delete container.resources.requests.cpu),
  },
  { check: 'cpuLimitsMissing', does: 'has no CPU limit', bad: () => withContainer((container) => delete container.resources.limits.cpu) },
  {
    check: 'memoryRequestsMissing',
    does: 'requests no memory',
    bad: () => withContainer((container) => delete container.resources.requests.memory),
  },
  {
    check: 'memoryLimitsMissing',
    does: 'has no memory limit',
    bad: () => withContainer((container) => delete container.resources.limits.memory),
  },
  {
    check: 'privilegeEscalationAllowed',
    does: 'leaves allowPrivilegeEscalation unset',
    bad: () => withContainer((container) => delete container.securityContext.allowPrivilegeEscalation),
  },
  { check: 'runAsRootAllowed', does: 'sets neither runAsNonRoot nor a user', bad: noRootSettings },
  {
    check: 'runAsPrivileged',
    does: 'runs privileged',
    bad: () => withContainer((container) => (container.securityContext.privileged = true)),
  },
  {
    check: 'dangerousCapabilities',
    does: 'adds NET_ADMIN',
    bad: () => withContainer((container) => (container.securityContext.capabilities.add = ['NET_ADMIN'])),
  },
  {
    check: 'insecureCapabilities',
    does: 'drops NET_RAW only',
    bad: () => withContainer((container) => (container.securityContext.capabilities.drop = ['NET_RAW'])),
  },
  {
    check: 'automountServiceAccountToken',
    does: 'mounts the token (neither pod nor ServiceAccount opts out)',
    bad: () =>
      edited(
        withPod((spec) => delete spec.automountServiceAccountToken),
        'ServiceAccount',
        'web',
        (account) => delete account.automountServiceAccountToken,
      ),
  },
  {
    check: 'missingNetworkPolicy',
    does: 'has a policy for ingress only',
    bad: () => edited(application(), 'NetworkPolicy', 'web', (policy) => (policy.spec.policyTypes = ['Ingress'])),
  },
  { check: 'missingNetworkPolicy', does: 'has no policy at all', bad: () => without(application(), 'NetworkPolicy', 'web') },
  {
    check: 'notReadOnlyRootFilesystem',
    does: 'leaves readOnlyRootFilesystem unset',
    bad: () => withContainer((container) => delete container.securityContext.readOnlyRootFilesystem),
  },
  { check: 'hostPortSet', does: 'binds host port 8080', bad: () => withContainer((container) => (container.ports[0].hostPort = 8080)) },
];

const key = (object: PolicyObject) => `${object.kind}/${object.metadata.name}`;

describe('every policy check', () => {
  it('has a deliberately bad manifest below', () => {
    const tested = new Set(CASES.map((testCase) => testCase.check));
    expect(POLICY_CHECKS.map((check) => check.name).filter((name) => !tested.has(name))).toEqual([]);
    expect([...tested].filter((name) => !POLICY_CHECKS.some((check) => check.name === name))).toEqual([]);
  });

  it('passes the compliant fixture application (every check, nothing exempted or disabled)', () => {
    const report = runPolicy([{ environment: 'fixture', objects: application().map((object) => ({ object })) }], {
      exemptions: [],
      disabled: [],
    });
    expect(report.ok, formatReport(report)).toBe(true);
  });

  it.each(CASES.map((testCase) => [testCase.check, testCase.does, testCase] as const))(
    '%s fails a manifest that %s, and passes a good one',
    (_name, _does, testCase) => {
      expect(runCheck(testCase.check, (testCase.good ?? application)())).toEqual([]);
      const failures = runCheck(testCase.check, testCase.bad());
      const [kind, name] = testCase.target ?? ['Deployment', 'web'];
      expect(failures.map(({ object }) => key(object))).toContain(`${kind}/${name}`);
      for (const { messages } of failures) expect(messages.every((message) => message.length > 0)).toBe(true);
    },
  );
});

describe('upstream semantics', () => {
  it('no-anti-affinity ignores single-replica workloads and does not accept topology spread constraints instead', () => {
    const single = edited(
      withPod((spec) => delete spec.affinity),
      'Deployment',
      'web',
      (object) => (object.spec.replicas = 1),
    );
    expect(runCheck('no-anti-affinity', single)).toEqual([]);
    const spreadOnly = withPod((spec) => delete spec.affinity);
    expect(runCheck('no-anti-affinity', spreadOnly)).toHaveLength(1);
  });

  it('deploymentMissingReplicas accepts a Deployment that an HPA scales, with or without spec.replicas (unlike upstream)', () => {
    const autoscaled = edited(application(), 'Deployment', 'web', (object) => delete object.spec.replicas);
    expect(runCheck('deploymentMissingReplicas', autoscaled)).toEqual([]);
    expect(
      runCheck(
        'deploymentMissingReplicas',
        edited(application(), 'Deployment', 'web', (object) => (object.spec.replicas = 1)),
      ),
    ).toEqual([]);
    // The HPA must target this Deployment: one scaling another (or a StatefulSet of the name) does not count.
    const elsewhere = edited(
      autoscaled,
      'HorizontalPodAutoscaler',
      'web',
      (hpa) => (hpa.spec.scaleTargetRef = { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web' }),
    );
    expect(runCheck('deploymentMissingReplicas', elsewhere).map(({ messages }) => messages)).toEqual([
      ['Only one replica is scheduled (spec.replicas is unset)'],
    ]);
  });

  it('default-service-account accepts the default account when no token is mounted (as upstream)', () => {
    expect(
      runCheck(
        'default-service-account',
        withPod((spec) => delete spec.serviceAccountName),
      ),
    ).toEqual([]);
  });

  it('latest-tag and tagNotSpecified accept an image pinned by digest', () => {
    const pinned = withContainer((container) => (container.image = `registry.example.com/web@sha256:${'a'.repeat(64)}`));
    expect(runCheck('latest-tag', pinned)).toEqual([]);
    expect(runCheck('tagNotSpecified', pinned)).toEqual([]);
  });

  it('missingNetworkPolicy and non-isolated-pod accept a namespace-wide deny-all policy', () => {
    const denyAll = edited(
      application(),
      'NetworkPolicy',
      'web',
      (policy) => (policy.spec = { podSelector: {}, policyTypes: ['Ingress', 'Egress'] }),
    );
    expect(runCheck('missingNetworkPolicy', denyAll)).toEqual([]);
    expect(runCheck('non-isolated-pod', denyAll)).toEqual([]);
  });

  it('Polaris probe and spread checks leave Jobs alone; kube-linter probe checks do not', () => {
    const objects = applicationWithJob();
    for (const name of ['livenessProbeMissing', 'readinessProbeMissing', 'topologySpreadConstraint'])
      expect(runCheck(name, objects)).toEqual([]);
    expect(runCheck('no-liveness-probe', objects).map(({ object }) => key(object))).toEqual(['Job/migrate']);
  });

  it('reads only what the manifest says: no istio-proxy is assumed in an injected pod', () => {
    const injected = edited(
      application(),
      'Deployment',
      'web',
      (object) => (object.spec.template.metadata.annotations = { 'sidecar.istio.io/proxyCPU': '100m' }),
    );
    const report = runPolicy([{ environment: 'fixture', objects: injected.map((object) => ({ object })) }], {
      exemptions: [],
      disabled: [],
    });
    expect(report.ok, formatReport(report)).toBe(true);
  });

  it('pdb-min-available scales a percentage on the replicas', () => {
    const budget = (minAvailable: string) =>
      edited(application(), 'PodDisruptionBudget', 'web', (pdb) => {
        delete pdb.spec.maxUnavailable;
        pdb.spec.minAvailable = minAvailable;
      });
    expect(runCheck('pdb-min-available', budget('50%'))).toEqual([]);
    expect(runCheck('pdb-min-available', budget('100%'))).toHaveLength(1);
  });
});

describe('exemptions', () => {
  const input = (objects: PolicyObject[]): PolicyInput[] => [{ environment: 'fixture', objects: objects.map((object) => ({ object })) }];
  const noReplicas = singleReplica;
  const annotate = (objects: PolicyObject[], annotations: Record<string, string>) =>
    edited(objects, 'Deployment', 'web', (object) => (object.metadata.annotations = annotations));
  const fileExemption = (reason: string, extra: Partial<Exemption> = {}): Exemption => ({
    check: 'deploymentMissingReplicas',
    kind: 'Deployment',
    name: 'web',
    reason,
    ...extra,
  });

  it('the violation fails the run without an exemption', () => {
    const report = runPolicy(input(noReplicas()), { exemptions: [] });
    expect(report.ok).toBe(false);
    expect(report.failures.map((failure) => `${failure.check}: ${failure.where}`)).toEqual([
      'deploymentMissingReplicas: fixture: Deployment app/web',
    ]);
    expect(formatReport(report)).toContain('deploymentMissingReplicas: fixture: Deployment app/web: Only one replica is scheduled');
  });

  it("the tool's own annotation exempts the object", () => {
    const report = runPolicy(input(annotate(noReplicas(), { [POLARIS_EXEMPT]: 'true' })), { exemptions: [] });
    expect(report.ok, formatReport(report)).toBe(true);
    expect(report.exempted.map((finding) => [finding.check, finding.exemptedBy])).toEqual([
      ['deploymentMissingReplicas', `annotation ${POLARIS_EXEMPT}`],
    ]);
    expect(report.rows.find((row) => row.check === 'deploymentMissingReplicas')).toMatchObject({ passed: 0, exempted: 1, failed: 0 });
    const noProbe = withContainer((container) => delete container.livenessProbe);
    const linted = runPolicy(
      input(
        annotate(noProbe, {
          [KUBE_LINTER_EXEMPT]: 'a probe would restart it mid-batch, see the runbook',
          'polaris.fairwinds.com/livenessProbeMissing-exempt': 'true',
        }),
      ),
      { exemptions: [] },
    );
    expect(linted.ok, formatReport(linted)).toBe(true);
    expect(linted.exempted.map((finding) => finding.reason)).toContain('a probe would restart it mid-batch, see the runbook');
  });

  it('fails a Polaris annotation other than "true" (Polaris ignores it), and the violation still fails', () => {
    for (const value of ['yes', 'True', 'a singleton by design']) {
      const report = runPolicy(input(annotate(noReplicas(), { [POLARIS_EXEMPT]: value })), { exemptions: [] });
      expect(report.ok).toBe(false);
      expect(report.failures).toHaveLength(1);
      expect(report.exemptionProblems.join('\n')).toMatch(/Polaris reads only "true"/);
    }
  });

  it('fails a kube-linter annotation without a (real) reason, and the violation still fails', () => {
    const noProbe = withContainer((container) => delete container.livenessProbe);
    for (const reason of ['', 'because', '         x']) {
      const report = runPolicy(input(annotate(noProbe, { [KUBE_LINTER_EXEMPT]: reason })), { exemptions: [] });
      expect(report.ok).toBe(false);
      expect(report.failures.map((failure) => failure.check)).toContain('no-liveness-probe');
      expect(report.exemptionProblems.join('\n')).toMatch(/no-liveness-probe has no reason/);
    }
  });

  it('fails a stale annotation (the object passes the check), one naming no check, and one naming the other tool', () => {
    const stale = runPolicy(input(annotate(application(), { [POLARIS_EXEMPT]: 'true' })), { exemptions: [] });
    expect(stale.ok).toBe(false);
    expect(stale.exemptionProblems.join('\n')).toMatch(/waives nothing \(the object passes the check\)/);
    const unknown = runPolicy(input(annotate(application(), { 'polaris.fairwinds.com/deploymentMissingReplica-exempt': 'true' })), {
      exemptions: [],
    });
    expect(unknown.exemptionProblems.join('\n')).toMatch(/names no polaris check of the suite/);
    const otherTool = runPolicy(
      input(annotate(noReplicas(), { 'ignore-check.kube-linter.io/deploymentMissingReplicas': 'a singleton by design, see the runbook' })),
      { exemptions: [] },
    );
    expect(otherTool.exemptionProblems.join('\n')).toMatch(/names no kube-linter check of the suite/);
    expect(otherTool.failures).toHaveLength(1);
    const wrongKind = runPolicy(
      input(edited(application(), 'Service', 'web', (service) => (service.metadata.annotations = { [POLARIS_EXEMPT]: 'true' }))),
      { exemptions: [] },
    );
    expect(wrongKind.exemptionProblems.join('\n')).toMatch(/the check does not apply to a Service/);
  });

  it('fails an exemption annotation on a pod template (it belongs on the object)', () => {
    const objects = edited(
      noReplicas(),
      'Deployment',
      'web',
      (object) =>
        (object.spec.template.metadata.annotations = {
          [POLARIS_EXEMPT]: 'true',
        }),
    );
    const report = runPolicy(input(objects), { exemptions: [] });
    expect(report.exemptionProblems.join('\n')).toMatch(/is on the pod template/);
    expect(report.failures).toHaveLength(1);
  });

  it('an entry of the exemptions file with a reason exempts the objects it matches', () => {
    const byName = runPolicy(input(noReplicas()), { exemptions: [fileExemption('a singleton by design, see the runbook')] });
    expect(byName.ok, formatReport(byName)).toBe(true);
    const byPattern = runPolicy(input(noReplicas()), {
      exemptions: [fileExemption('a singleton by design, see the runbook', { name: /^w/ })],
    });
    expect(byPattern.ok, formatReport(byPattern)).toBe(true);
    const byLabels = runPolicy(input(noReplicas()), {
      exemptions: [fileExemption('a singleton by design, see the runbook', { name: undefined, podTemplateLabels: { tier: 'api' } })],
    });
    expect(byLabels.ok, formatReport(byLabels)).toBe(true);
  });

  it('fails an entry without a reason, and the violation still fails', () => {
    const report = runPolicy(input(noReplicas()), { exemptions: [fileExemption('todo')] });
    expect(report.ok).toBe(false);
    expect(report.failures).toHaveLength(1);
    expect(report.exemptionProblems).toEqual([
      expect.stringMatching(/exemptions file: deploymentMissingReplicas for Deployment web: no reason/),
    ]);
  });

  it('fails a stale entry (matching no failing object), unless the run leaves environments out', () => {
    const stale = fileExemption('a singleton by design, see the runbook', { name: 'gone' });
    const report = runPolicy(input(noReplicas()), { exemptions: [stale] });
    expect(report.exemptionProblems).toEqual([expect.stringMatching(/waives nothing in fixture/)]);
    expect(report.failures).toHaveLength(1);
    expect(runPolicy(input(application()), { exemptions: [stale], reportStaleExemptions: false }).ok).toBe(true);
    // Scoped to another environment: it neither applies nor is stale here.
    expect(runPolicy(input(application()), { exemptions: [{ ...stale, environments: ['prod'] }] }).ok).toBe(true);
  });

  it('fails an entry naming no check, and a disabled check without a reason', () => {
    const report = runPolicy(input(application()), {
      exemptions: [{ check: 'noSuchCheck', kind: 'Deployment', reason: 'a reason long enough' }],
      disabled: [{ check: 'cpuLimitsMissing', reason: '' }],
    });
    expect(report.exemptionProblems).toEqual([
      expect.stringMatching(/disabled checks: cpuLimitsMissing has no reason/),
      expect.stringMatching(/"noSuchCheck" is not a check of the suite/),
    ]);
  });

  it('exempts Jobs by design (lib/policy/exemptions.ts); a loop service as a StatefulSet of one needs no exemption', () => {
    const asLoop = (object: any) => {
      object.metadata.name = 'scheduler';
      object.spec.replicas = 1;
      object.spec.selector.matchLabels = { app: 'scheduler' };
      object.spec.template.metadata.labels = { app: 'scheduler', 'app.kubernetes.io/component': 'loop' };
      delete object.spec.template.spec.affinity;
    };
    const statefulSet = edited([deployment()], 'Deployment', 'web', (object) => {
      asLoop(object);
      object.kind = 'StatefulSet';
      delete object.spec.strategy;
      object.spec.serviceName = 'scheduler-headless';
      object.spec.podManagementPolicy = 'Parallel';
      object.spec.updateStrategy = { type: 'RollingUpdate' };
    });
    const headless = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'scheduler-headless', namespace: NAMESPACE },
      spec: { clusterIP: 'None', selector: { app: 'scheduler' } },
    };
    const policy = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'scheduler', namespace: NAMESPACE },
      spec: { podSelector: { matchLabels: { app: 'scheduler' } }, policyTypes: ['Ingress', 'Egress'] },
    };
    // The Job's exemptions are its own annotations, as lib/flux/hashed-job.ts writes them.
    const migrate = edited(applicationWithJob(), 'Job', 'migrate', (object) => {
      delete object.spec.ttlSecondsAfterFinished;
      object.metadata.annotations = {
        ...object.metadata.annotations,
        'ignore-check.kube-linter.io/job-ttl-seconds-after-finished': 'kept for Flux: a TTL would rerun it',
        'ignore-check.kube-linter.io/no-liveness-probe': 'a Job runs to completion and serves nothing',
        'ignore-check.kube-linter.io/no-readiness-probe': 'a Job runs to completion and serves nothing',
      };
    });
    const report = runPolicy(input([...migrate, ...statefulSet, headless as PolicyObject, policy as PolicyObject]));
    expect(report.ok, formatReport(report)).toBe(true);
    expect(new Set(report.exempted.map((finding) => `${finding.check} ${finding.object.metadata.name}`))).toEqual(
      new Set(['job-ttl-seconds-after-finished migrate', 'no-liveness-probe migrate', 'no-readiness-probe migrate']),
    );
    // The same singleton as a Deployment (Recreate) is not exempt any more: it can run twice.
    const singletonDeployment = edited([deployment()], 'Deployment', 'web', (object) => {
      asLoop(object);
      object.spec.strategy = { type: 'Recreate' };
    });
    const failing = runPolicy(input([...migrate, ...singletonDeployment, policy as PolicyObject]));
    expect(failing.failures.map((finding) => `${finding.check} ${finding.object.metadata.name}`).sort()).toEqual([
      'deploymentMissingReplicas scheduler',
      'missingPodDisruptionBudget scheduler',
    ]);
  });

  it('every built-in exemption and disabled check names a check and gives a reason', () => {
    for (const entry of [...EXEMPTIONS, ...DISABLED_CHECKS]) {
      expect(
        POLICY_CHECKS.some((check) => check.name === entry.check),
        entry.check,
      ).toBe(true);
      expect(entry.reason.trim().length).toBeGreaterThanOrEqual(40);
    }
  });
});

describe('the committed output (dist/)', () => {
  const dist = path.join(PROJECT_ROOT, 'dist');
  const environments = listDistEnvironments(dist);

  it('has environments to check', () => {
    expect(environments.length).toBeGreaterThan(0);
  });

  // Each environment on its own, so a failure names its environment and lists every violation.
  it.each(environments)('dist/%s has no unexempted violation', (environment) => {
    const report = runPolicy([loadDistEnvironment(dist, environment)], { reportStaleExemptions: false });
    expect(report.ok, `\n${formatReport(report)}\n`).toBe(true);
  });

  it('uses every entry of the exemptions file somewhere (no stale exemption)', () => {
    const report = runPolicy(environments.map((environment) => loadDistEnvironment(dist, environment)));
    const stale = report.exemptionProblems.filter((problem) => problem.startsWith('exemptions file:'));
    expect(stale, stale.join('\n')).toEqual([]);
  });

  it('the CLI prints the table and exits 1 exactly when the suite or the secrets scan fails', () => {
    const report = runPolicy(environments.map((environment) => loadDistEnvironment(dist, environment)));
    const result = run('npx', ['tsx', 'scripts/policy.ts'], PROJECT_ROOT);
    expect(result.stdout).toContain('Policy suite:');
    expect(result.stdout).toMatch(/secrets scan: (passed|FAILED)/);
    const secretsPassed = result.stdout.includes('secrets scan: passed');
    expect(result.status).toBe(report.ok && secretsPassed ? 0 : 1);
    expect(run('npx', ['tsx', 'scripts/policy.ts', 'no-such-environment'], PROJECT_ROOT).status).toBe(2);
  });
});
