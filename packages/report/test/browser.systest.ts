import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { writeReport } from '../src';
import { fakeLog, type FakeRun } from './fixtures';

/*
 * The report as a reader sees it: Debian's chromium opens the page, which must load without a
 * console or page error and without fetching anything, and each figure must show one line (and
 * one legend entry) per run, with its axis titles.
 */

const CHROMIUM = '/usr/bin/chromium';
const APT_LINE = 'apt-get update && apt-get install -y chromium (or run .ci/run)';

const FIG1_RUNS: FakeRun[] = [
  { algo: 'dave-pg', p: 1, evals: 30, rate: 0.6, dataset: 'rcv1' },
  { algo: 'soda', p: 0.1, evals: 40, rate: 0.5, upPerEval: 30, dataset: 'rcv1' },
  { algo: 'sync-pg', p: 1, evals: 20, rate: 0.7, dataset: 'rcv1' },
];
// Fig. 2: madelon, 3 runs at each p; one diverges, one stops short of the target 1e-4.
const FIG2_RUNS: FakeRun[] = [
  { algo: 'soda', p: 0.01, evals: 20, rate: 0.5 },
  { algo: 'soda', p: 0.01, evals: 20, rate: 0.45 },
  { algo: 'soda', p: 0.01, evals: 20, rate: 2, reason: 'diverged' },
  { algo: 'soda', p: 0.1, evals: 20, rate: 0.5 },
  { algo: 'soda', p: 0.1, evals: 5, rate: 0.5, reason: 'max-epochs' },
  { algo: 'soda', p: 0.1, evals: 20, rate: 0.55 },
  { algo: 'dave-pg', p: 1, evals: 40, rate: 0.7 },
  { algo: 'dave-pg', p: 1, evals: 40, rate: 0.72 },
  { algo: 'dave-pg', p: 1, evals: 40, rate: 0.74 },
].map((r) => ({ ...r, dataset: 'madelon' }) as FakeRun);

interface FigureSeen {
  id: string;
  dataSeries: number;
  linePaths: number;
  legendLabels: string[];
  axisTitles: string[];
  symbolsByMark: Record<string, number>;
  barCount: number;
  width: number;
}

let browser: Browser | undefined;

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `${CHROMIUM} is missing: this test needs Debian's chromium. Install it with: ${APT_LINE}`,
    );
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}, 30000);

afterAll(async () => {
  await browser?.close();
});

test('the report loads in chromium without errors and shows one line per run', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'soda-report-browser-'));
  const log1 = path.join(dir, 'fig1.jsonl');
  const log2 = path.join(dir, 'fig2.jsonl');
  writeFileSync(log1, ['not json', ...FIG1_RUNS.flatMap(fakeLog)].join('\n'));
  writeFileSync(log2, FIG2_RUNS.flatMap(fakeLog).join('\n'));
  const out = path.join(dir, 'report.html');
  const svgDir = path.join(dir, 'svg');
  await writeReport([log1, log2], { out, svgDir, target: 1e-4 });

  const page = await browser!.newPage();
  const errors: string[] = [];
  const foreign: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') errors.push(`console.${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('request', (r) => {
    if (!r.url().startsWith('file:') && !r.url().startsWith('data:')) foreign.push(r.url());
  });
  await page.goto(pathToFileURL(out).href, { waitUntil: 'load' });

  const seen: FigureSeen[] = await page.evaluate(() =>
    Array.from(document.querySelectorAll('figure')).map((f) => {
      const texts = (sel: string) => Array.from(f.querySelectorAll(sel)).map((t) => t.textContent ?? '');
      const symbolsByMark: Record<string, number> = {};
      for (const g of Array.from(f.querySelectorAll('g.mark-symbol.role-mark'))) {
        const name = Array.from(g.classList).find((c) => c.endsWith('_marks')) ?? '?';
        symbolsByMark[name] = g.querySelectorAll('path').length;
      }
      return {
        id: f.id,
        dataSeries: Number(f.getAttribute('data-series')),
        linePaths: f.querySelectorAll('g.mark-line.role-mark path').length,
        legendLabels: texts('g.role-legend-label text'),
        axisTitles: texts('g.role-axis-title text'),
        symbolsByMark,
        barCount: f.querySelectorAll('g.mark-rect.role-mark path').length,
        width: f.querySelector('svg')?.getBoundingClientRect().width ?? 0,
      };
    }),
  );
  const scripts = await page.evaluate(() => document.scripts.length);
  const tableRows = await page.evaluate(() => document.querySelectorAll('#runs tbody tr').length);
  const note = await page.evaluate(() => document.querySelector('.note')?.textContent ?? '');
  await page.close();

  expect(errors).toEqual([]);
  expect(foreign).toEqual([]);
  expect(scripts).toBe(0);
  expect(tableRows).toBe(FIG1_RUNS.length + FIG2_RUNS.length);
  expect(note).toContain('1 line(s) that are not JSON');

  const rcv1Labels = ['DAve-PG · rcv1', 'SODA p=0.1 · rcv1', 'sync-PG · rcv1'];
  const madelonLabels = [
    'SODA p=0.01 · madelon #1',
    'SODA p=0.01 · madelon #2',
    'SODA p=0.01 · madelon #3',
    'SODA p=0.1 · madelon #1',
    'SODA p=0.1 · madelon #2',
    'SODA p=0.1 · madelon #3',
    'DAve-PG · madelon #1',
    'DAve-PG · madelon #2',
    'DAve-PG · madelon #3',
  ];
  const byId = new Map(seen.map((s) => [s.id, s]));
  expect([...byId.keys()].sort()).toEqual(
    [
      'fig1-time-rcv1',
      'fig1-epochs-rcv1',
      'fig1-coords-rcv1',
      'fig3-support-rcv1',
      'fig1-time-madelon',
      'fig1-epochs-madelon',
      'fig1-coords-madelon',
      'fig3-support-madelon',
      'fig2-exchanges-madelon',
    ].sort(),
  );
  const xTitles: Record<string, string> = {
    time: 'time (s)',
    epochs: 'epochs (updates / M)',
    coords: 'coordinates exchanged (up + down)',
  };
  for (const [ds, labels] of [
    ['rcv1', rcv1Labels],
    ['madelon', madelonLabels],
  ] as const) {
    for (const axis of ['time', 'epochs', 'coords']) {
      const f = byId.get(`fig1-${axis}-${ds}`)!;
      expect(f.width).toBeGreaterThan(100);
      expect(f.linePaths).toBe(labels.length);
      expect(f.dataSeries).toBe(labels.length);
      expect(f.legendLabels).toEqual(labels);
      expect(f.axisTitles.sort()).toEqual([xTitles[axis], 'suboptimality'].sort());
    }
    const f3 = byId.get(`fig3-support-${ds}`)!;
    expect(f3.linePaths).toBe(labels.length);
    expect(f3.legendLabels).toEqual(labels);
    expect(f3.axisTitles.sort()).toEqual(['epochs (updates / M)', 'support size (% of n)']);
  }
  // Fig. 2: 9 runs, 7 reached 1e-4 (dots); a star per p; a bar per p for the diverged count.
  const f2 = byId.get('fig2-exchanges-madelon')!;
  expect(f2.symbolsByMark).toEqual({ concat_0_layer_0_marks: 7, concat_0_layer_1_marks: 3 });
  expect(f2.barCount).toBe(3);
  expect(f2.axisTitles).toEqual(
    expect.arrayContaining(['coordinates exchanged to reach the target', 'diverged runs']),
  );

  expect(readdirSync(svgDir).sort()).toEqual([...byId.keys()].map((id) => `${id}.svg`).sort());
}, 30000);
