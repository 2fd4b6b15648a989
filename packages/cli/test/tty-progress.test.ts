import { startProgress } from '../src/tty-progress';

function fakeStream(isTTY: boolean) {
  const out: string[] = [];
  return { stream: { isTTY, write: (s: string) => out.push(s) } as unknown as NodeJS.WriteStream, out };
}

describe('progress of long steps on a terminal', () => {
  it('draws a self-rewriting line with the label, elapsed time and detail, ending with a newline', () => {
    const { stream, out } = fakeStream(true);
    const bar = startProgress('solving for F*', stream);
    bar.update('iteration 3, certificate 1.0e-9');
    bar.done('certificate 7.7e-15');
    expect(out[0].startsWith('\r\u001b[2K')).toBe(true);
    expect(out[0]).toMatch(/solving for F\* … \d+\.\d s$/);
    expect(out).toContainEqual(expect.stringContaining('iteration 3, certificate 1.0e-9'));
    expect(out[out.length - 2]).toContain('certificate 7.7e-15');
    expect(out[out.length - 1]).toBe('\n');
  });

  it('writes nothing when the stream is not a terminal (pipes, CI, log files)', () => {
    const { stream, out } = fakeStream(false);
    const bar = startProgress('building', stream);
    bar.update('x');
    bar.done('y');
    expect(out).toEqual([]);
  });
});
