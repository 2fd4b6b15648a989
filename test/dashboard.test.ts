import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { createMetrics } from '@soda/master';

/*
 * The Grafana dashboard in deploy/grafana plots only metrics the master really exposes: every metric
 * name in its queries must be in a /metrics exposition of createMetrics (with its default process
 * metrics), and it has the panels the README promises.
 */

interface Panel {
  title: string;
  targets: { expr: string }[];
}

test('every query of the Grafana dashboard names a metric /metrics exposes', async () => {
  const file = path.resolve(__dirname, '..', 'deploy', 'grafana', 'soda-dashboard.json');
  const dash = JSON.parse(readFileSync(file, 'utf8')) as { panels: Panel[]; uid: string };
  const values = { updates: 10, epochs: 1, coords: 5, bytes: 100 };
  const { registry, observeStaleness } = createMetrics({
    updates: () => values.updates,
    epochs: () => values.epochs,
    objective: () => 0.5,
    subopt: () => 1e-3,
    supportSize: () => 3,
    supportRatio: () => 0.3,
    coordsUp: () => values.coords,
    coordsDown: () => values.coords,
    bytesUp: () => values.bytes,
    bytesDown: () => values.bytes,
    evalCoordsDown: () => values.coords,
    gapCoordsUp: () => values.coords,
    evalBytesUp: () => values.bytes,
    updateBytesUp: () => values.bytes,
    modelBytesDown: () => values.bytes,
    workersConnected: () => 2,
    workersReady: () => 2,
    rejectedFrames: () => 0,
    departures: () => 0,
    connectionsRefused: () => 0,
    outputWriteFailures: () => 0,
  });
  observeStaleness(3);
  const text = await registry.metrics();
  const exposed = new Set(Array.from(text.matchAll(/^([a-z_:][a-z0-9_:]*)[{ ]/gm), (m) => m[1]));
  const titles = dash.panels.map((p) => p.title);
  for (const want of ['Suboptimality', 'Updates per second', 'bytes per second', 'Support size'])
    expect(titles.some((t) => t.includes(want))).toBe(true);
  const names = new Set<string>();
  for (const p of dash.panels)
    for (const t of p.targets)
      for (const m of t.expr.matchAll(/\b((?:soda|process|nodejs)_[a-z0-9_]+)/g)) names.add(m[1]);
  expect(names.size).toBeGreaterThan(8);
  for (const n of names) expect(exposed).toContain(n);
});
