/**
 * Progress of long steps (building a dataset, reading a big file, solving for F*) for a person at a
 * terminal: one self-rewriting line on stderr, only when stderr is a TTY, never in the JSON logs.
 */
export interface Progress {
  /** Replace the detail shown after the label (e.g. "iteration 7, certificate 3e−9"). */
  update(detail: string): void;
  done(detail?: string): void;
}

const SILENT: Progress = { update() {}, done() {} };

export function startProgress(label: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY) return SILENT;
  const t0 = Date.now();
  let detail = '';
  const draw = (): void => {
    const secs = ((Date.now() - t0) / 1000).toFixed(1);
    stream.write(`\r\x1b[2K${label} … ${secs} s${detail ? `  ${detail}` : ''}`);
  };
  const timer = setInterval(draw, 200);
  timer.unref();
  draw();
  return {
    update(d: string) {
      detail = d;
      draw();
    },
    done(d?: string) {
      clearInterval(timer);
      if (d !== undefined) detail = d;
      draw();
      stream.write('\n');
    },
  };
}
