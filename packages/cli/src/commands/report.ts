import type { Argv, CommandModule } from 'yargs';
import * as v from '../validate';

export const reportCommand: CommandModule<object, Record<string, unknown>> = {
  command: 'report <logs..>',
  describe: "turn runs' JSON logs into one self-contained HTML page with the paper's figures",
  builder: (y: Argv) =>
    y
      .positional('logs', { type: 'string', array: true, describe: 'JSON-lines logs of one or more runs' })
      .option('out', { type: 'string', default: 'report.html', describe: 'the HTML page to write' })
      .option('svg', { type: 'string', describe: 'also write each figure as an SVG file in this folder' })
      .option('target', {
        type: 'number',
        describe: "suboptimality target of Fig. 2 (default: each run's tol)",
      })
      .example('$0 report out/run-*.jsonl --out report.html', '') as unknown as Argv<Record<string, unknown>>,
  handler: async (a) => {
    // vega is loaded by this command only
    const { writeReport } = await import('@soda/report');
    const info = await writeReport(a.logs as string[], {
      out: a.out as string,
      ...(a.svg !== undefined ? { svgDir: a.svg as string } : {}),
      ...(a.target !== undefined ? { target: v.positive('target', a.target) } : {}),
    });
    process.stdout.write(
      JSON.stringify({ out: a.out, runs: info.runs, figures: info.figures.length }) + '\n',
    );
  },
};
