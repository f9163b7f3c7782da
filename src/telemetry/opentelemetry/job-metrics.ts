import type { Attributes, Counter, Histogram, Meter } from '@opentelemetry/api';
import type { AttemptInfo, LandedOutcome, PushInfo } from '../telemetry-port.js';
import * as A from './attributes.js';

/** Seconds: from a millisecond job to a five-minute one (the SDK's default buckets start at 5 s). */
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/**
 * Counters and histograms of what this process did. Pushes count when their insert returns (a
 * push inside a transaction that later rolls back is counted too); outcomes count when their ack
 * lands, so an attempt whose lease was lost (its ack fenced out) is not counted twice.
 */
export class JobMetrics {
  private readonly pushed: Counter;
  private readonly completed: Counter;
  private readonly failed: Counter;
  private readonly killed: Counter;
  private readonly duration: Histogram;
  private readonly waitTime: Histogram;
  /** Attribute sets by queue, name (and outcome): one object each, not one per job. */
  private readonly attributeSets = new Map<string, Attributes>();

  constructor(meter: Meter) {
    this.pushed = meter.createCounter('nestjs_pg_queue.jobs.pushed', { unit: '{job}', description: 'Jobs written by pushes of this process' });
    this.completed = meter.createCounter('nestjs_pg_queue.jobs.completed', { unit: '{job}', description: 'Attempts that completed' });
    this.failed = meter.createCounter('nestjs_pg_queue.jobs.failed', {
      unit: '{job}',
      description: 'Attempts that failed (each is followed by a retry or, the last time, by a kill)',
    });
    this.killed = meter.createCounter('nestjs_pg_queue.jobs.killed', { unit: '{job}', description: 'Jobs given up on: their last attempt failed' });
    this.duration = meter.createHistogram('nestjs_pg_queue.job.duration', {
      unit: 's',
      description: 'Run time of an attempt, from the handler call to its outcome',
      advice: { explicitBucketBoundaries: DURATION_BUCKETS },
    });
    this.waitTime = meter.createHistogram('nestjs_pg_queue.job.wait_time', {
      unit: 's',
      description: 'Time from when a job was due (run_at) to the start of its attempt',
      advice: { explicitBucketBoundaries: DURATION_BUCKETS },
    });
  }

  pushedJobs(push: PushInfo, count: number): void {
    if (count === 0) return;
    const first = push.names[0];
    if (push.names.every((n) => n === first)) {
      this.pushed.add(count, this.attributes(push.queue, first));
      return;
    }
    const byName = new Map<string, number>();
    for (const n of push.names) byName.set(n, (byName.get(n) ?? 0) + 1);
    for (const [name, n] of byName) this.pushed.add(n, this.attributes(push.queue, name));
  }

  started(info: AttemptInfo): void {
    // run_at is the database's clock and this is the process's: a skew of either sign is clamped.
    const waited = Math.max(0, Date.now() - info.runAt.getTime()) / 1000;
    this.waitTime.record(waited, this.attributes(info.queue, info.name));
  }

  landed(o: LandedOutcome): void {
    const attributes = this.attributes(o.queue, o.name);
    if (o.status === 'done') this.completed.add(1, attributes);
    else if (o.status === 'retrying' || o.status === 'killed') {
      this.failed.add(1, attributes);
      if (o.status === 'killed') this.killed.add(1, attributes);
    }
    this.duration.record(o.durationMs / 1000, this.attributes(o.queue, o.name, o.status));
  }

  private attributes(queue: string, name: string, outcome?: string): Attributes {
    const key = outcome === undefined ? `${queue}\0${name}` : `${queue}\0${name}\0${outcome}`;
    let set = this.attributeSets.get(key);
    if (!set) {
      set = { [A.MESSAGING_SYSTEM]: A.SYSTEM, [A.DESTINATION]: queue, [A.JOB_NAME]: name };
      if (outcome !== undefined) set[A.JOB_OUTCOME] = outcome;
      // Job names come from code, so this stays small; a flood of odd names stops being cached.
      if (this.attributeSets.size < 10_000) this.attributeSets.set(key, set);
    }
    return set;
  }
}
