import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import type { RecordingDataClient } from '../core/data-client';
import { withVersion } from '../core/labels';
import { exemptions, JOB_PROBE_REASON } from '../policy/exemption-annotations';
import { type JobPodProps, relatedJobPod } from './hashed-job';

export interface ScheduledJobProps extends JobPodProps {
  /** When it runs: a cron expression, in the time zone `timeZone`. */
  readonly schedule: string;
  /** @default 'Etc/UTC' */
  readonly timeZone?: string;
  readonly backoffLimit: number;
  readonly activeDeadlineSeconds: number;
}

/**
 * A Job that runs on a schedule (a CronJob), a client of the data relations like the run-once
 * Jobs (HashedJob): its ServiceAccount, a NetworkPolicy of its own, a native sidecar under
 * STRICT mTLS. Runs never overlap; the last three of each outcome are kept, older ones deleted by
 * the CronJob controller (no TTL, which would also delete a failed run before anyone reads it).
 */
export class ScheduledJob extends Construct {
  public readonly cronJob: k8s.KubeCronJob;
  public readonly client: RecordingDataClient;

  constructor(scope: Construct, id: string, props: ScheduledJobProps) {
    super(scope, id);
    const { client, template } = relatedJobPod(this, props);
    this.client = client;
    this.cronJob = new k8s.KubeCronJob(this, 'Resource', {
      metadata: {
        name: props.baseName,
        namespace: props.namespace,
        labels: withVersion(props.labels, props.version),
        annotations: exemptions({
          kubeLinter: { 'no-liveness-probe': JOB_PROBE_REASON, 'no-readiness-probe': JOB_PROBE_REASON },
        }),
      },
      spec: {
        schedule: props.schedule,
        timeZone: props.timeZone ?? 'Etc/UTC',
        concurrencyPolicy: 'Forbid',
        startingDeadlineSeconds: 3600,
        successfulJobsHistoryLimit: 3,
        failedJobsHistoryLimit: 3,
        jobTemplate: {
          metadata: { labels: props.labels },
          spec: { backoffLimit: props.backoffLimit, activeDeadlineSeconds: props.activeDeadlineSeconds, template },
        },
      },
    });
  }
}
