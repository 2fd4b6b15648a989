import * as http from 'node:http';
import * as https from 'node:https';
import { readFileSync } from 'node:fs';
import type { Registry } from 'prom-client';
import { createMetrics } from './metrics';
import type { RunState } from './run-state';

export interface HealthSource {
  phase(): string;
  workers(): number;
  k(): number;
}

/** /healthz (JSON) and /metrics (Prometheus) beside the WebSocket, on the same port. */
export function httpHandler(health: HealthSource, metrics: Registry) {
  return (req: http.IncomingMessage, res: http.ServerResponse): void => {
    if (req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ status: 'ok', phase: health.phase(), workers: health.workers(), k: health.k() }),
      );
      return;
    }
    if (req.url === '/metrics') {
      metrics.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': metrics.contentType });
          res.end(text);
        },
        (e: Error) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`metrics failed: ${e.message}\n`);
        },
      );
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found\n');
  };
}

/** The Prometheus metrics of a run (read at scrape time; staleness observed per update via stats). */
export function runMetrics(
  run: RunState,
  connected: () => number,
  last: () => { objective: number; subopt: number | null } | null,
): Registry {
  const { stats, model, shards } = run;
  const metrics = createMetrics({
    updates: () => stats.updates,
    epochs: () => model.k / shards.size,
    objective: () => last()?.objective ?? null,
    subopt: () => last()?.subopt ?? null,
    supportSize: () => model.supportSize,
    supportRatio: () => model.supportSize / model.n,
    coordsUp: () => stats.coordsUp,
    coordsDown: () => stats.coordsDown,
    bytesUp: () => stats.bytesUp,
    bytesDown: () => stats.bytesDown,
    workersConnected: connected,
    workersReady: () => shards.readyCount(),
    rejectedFrames: () => stats.rejectedFrames,
    departures: () => stats.departures,
  });
  stats.onDelay = metrics.observeStaleness;
  return metrics.registry;
}

/** What the HTTP endpoints read from the master besides the run state. */
export interface LiveSource {
  phase(): string;
  connected(): number;
  last(): { objective: number; subopt: number | null } | null;
}

/** The HTTP(S) server the WebSocket upgrades from (https when a certificate and key are given). */
export function createHttpServer(
  tls: { readonly cert: string; readonly key: string } | undefined,
  run: RunState,
  live: LiveSource,
): http.Server {
  const health = { phase: live.phase, workers: () => run.shards.readyCount(), k: () => run.model.k };
  const handler = httpHandler(health, runMetrics(run, live.connected, live.last));
  if (!tls) return http.createServer(handler);
  return https.createServer({ cert: readFileSync(tls.cert), key: readFileSync(tls.key) }, handler);
}
