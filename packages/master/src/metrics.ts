import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/*
 * What the master exposes to Prometheus, named by its conventions: the soda_ prefix, counters end in
 * _total, base units (bytes, seconds; ratios in [0, 1], not percents). Values are read lazily at
 * scrape time from `src`, so the hot path pays nothing, except the update-staleness histogram, which
 * is observed once per update. The default process metrics (CPU seconds, resident memory, event-loop
 * lag, heap, file descriptors) come with it.
 */
export interface MetricsSource {
  updates(): number;
  epochs(): number;
  objective(): number | null;
  subopt(): number | null;
  supportSize(): number;
  /** Non-zeros of w over n, in [0, 1]. */
  supportRatio(): number;
  coordsUp(): number;
  coordsDown(): number;
  bytesUp(): number;
  bytesDown(): number;
  /** the evaluation rounds' share: w sent in requests, gap-part coordinates and answer bytes received */
  evalCoordsDown(): number;
  gapCoordsUp(): number;
  evalBytesUp(): number;
  /** the step frames alone: update frames received, model frames sent */
  updateBytesUp(): number;
  modelBytesDown(): number;
  workersConnected(): number;
  workersReady(): number;
  rejectedFrames(): number;
  departures(): number;
  /** connections refused or evicted before authentication (admission.ts) */
  connectionsRefused(): number;
  /** the model or final checkpoint could not be written */
  outputWriteFailures(): number;
}

/** Staleness buckets, in updates: a worker's Δ computed on a w this many updates old. */
export const STALENESS_BUCKETS = [0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000];

export interface Metrics {
  readonly registry: Registry;
  /** Record the staleness of one update (number of master updates since the w it was computed on). */
  observeStaleness(updates: number): void;
}

export function createMetrics(src: MetricsSource): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // prom-client also exports these totals of the per-type gauges nodejs_active_{handles,requests,
  // resources} as gauges ending in _total, which promtool rejects: the per-type gauges carry the same.
  for (const name of [
    'nodejs_active_handles_total',
    'nodejs_active_requests_total',
    'nodejs_active_resources_total',
  ])
    registry.removeSingleMetric(name);
  const gauge = (name: string, help: string, read: () => number | null): void => {
    new Gauge({
      name: `soda_${name}`,
      help,
      registers: [registry],
      collect() {
        const v = read();
        if (v !== null && Number.isFinite(v)) this.set(v);
      },
    });
  };
  // A count kept by the master, exported as a counter: increments since the last scrape; a count that
  // went down (a new run in this process) resets the counter, which Prometheus' rate() handles.
  const counter = (name: string, help: string, read: () => number): void => {
    let last = 0;
    new Counter({
      name: `soda_${name}_total`,
      help,
      registers: [registry],
      collect() {
        const v = read();
        if (!Number.isFinite(v)) return;
        if (v < last) {
          this.reset();
          last = 0;
        }
        this.inc(v - last);
        last = v;
      },
    });
  };
  counter('updates', 'updates applied by the master (k)', src.updates);
  counter('received_coordinates', 'coordinates received from workers (Δ entries)', src.coordsUp);
  counter('sent_coordinates', 'coordinates sent to workers (w entries)', src.coordsDown);
  counter('received_bytes', 'frame bytes received from workers', src.bytesUp);
  counter('sent_bytes', 'frame bytes sent to workers', src.bytesDown);
  counter('eval_sent_coordinates', 'coordinates of w sent in evaluation requests', src.evalCoordsDown);
  counter('eval_received_coordinates', 'coordinates of the duality-gap parts received', src.gapCoordsUp);
  counter('eval_received_bytes', 'frame bytes of evaluation answers received', src.evalBytesUp);
  counter('update_received_bytes', 'frame bytes of update frames received (Δ)', src.updateBytesUp);
  counter('model_sent_bytes', 'frame bytes of model frames sent (w after each update)', src.modelBytesDown);
  counter('rejected_frames', 'frames rejected by validation', src.rejectedFrames);
  counter('worker_departures', 'workers that left while owning a shard', src.departures);
  counter(
    'connections_refused',
    'connections refused or closed before authentication (caps, hello deadline, pre-auth frame size)',
    src.connectionsRefused,
  );
  counter('output_write_failures', 'model or final-checkpoint writes that failed', src.outputWriteFailures);
  gauge('epochs', 'updates divided by the number of workers', src.epochs);
  gauge('objective', 'F(w) at the last evaluation round', src.objective);
  gauge('suboptimality', '(F - F*)/F* at the last evaluation round (a ratio)', src.subopt);
  gauge('support_size', 'non-zeros of the current w', src.supportSize);
  gauge('support_ratio', 'non-zeros of w divided by n (0 to 1)', src.supportRatio);
  gauge('workers_connected', 'authenticated worker connections', src.workersConnected);
  gauge('workers_ready', 'shards whose worker is ready', src.workersReady);
  const staleness = new Histogram({
    name: 'soda_update_staleness',
    help: 'updates applied by the master between the w a worker used and its update (delay)',
    buckets: STALENESS_BUCKETS,
    registers: [registry],
  });
  return { registry, observeStaleness: (d) => staleness.observe(d) };
}
