import { Gauge, Registry } from 'prom-client';

/** What the master exposes to Prometheus; read lazily at scrape time, so the hot path pays nothing. */
export interface MetricsSource {
  updates(): number;
  epochs(): number;
  objective(): number | null;
  subopt(): number | null;
  supportSize(): number;
  supportPct(): number;
  coordsUp(): number;
  coordsDown(): number;
  bytesUp(): number;
  bytesDown(): number;
  workersConnected(): number;
  workersReady(): number;
  delayMean(): number;
  rejectedFrames(): number;
  departures(): number;
  /** connections refused or evicted before authentication (admission.ts) */
  connectionsRefused(): number;
  /** the model or final checkpoint could not be written */
  outputWriteFailures(): number;
}

/** A registry of gauges whose values are collected from `src` on each scrape of /metrics. */
export function createMetrics(src: MetricsSource): Registry {
  const registry = new Registry();
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
  gauge('updates_total', 'updates applied by the master (k)', src.updates);
  gauge('epochs', 'updates divided by the number of workers', src.epochs);
  gauge('objective', 'F(w) at the last evaluation round', src.objective);
  gauge('suboptimality', '(F - F*)/F* at the last evaluation round', src.subopt);
  gauge('support_size', 'non-zeros of the current w', src.supportSize);
  gauge('support_percent', 'non-zeros of w as a percentage of n', src.supportPct);
  gauge('coords_up_total', 'coordinates received from workers', src.coordsUp);
  gauge('coords_down_total', 'coordinates sent to workers', src.coordsDown);
  gauge('bytes_up_total', 'frame bytes received from workers', src.bytesUp);
  gauge('bytes_down_total', 'frame bytes sent to workers', src.bytesDown);
  gauge('workers_connected', 'authenticated worker connections', src.workersConnected);
  gauge('workers_ready', 'shards whose worker is ready', src.workersReady);
  gauge('delay_mean', 'mean staleness (updates) of the recent updates', src.delayMean);
  gauge('rejected_frames_total', 'frames rejected by validation', src.rejectedFrames);
  gauge('departures_total', 'workers that left while owning a shard', src.departures);
  gauge(
    'connections_refused_total',
    'connections refused or closed before authentication (caps, hello deadline, pre-auth frame size)',
    src.connectionsRefused,
  );
  gauge(
    'output_write_failures_total',
    'model or final-checkpoint writes that failed',
    src.outputWriteFailures,
  );
  return registry;
}
