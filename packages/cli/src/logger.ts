import pino, { type Logger } from 'pino';

/**
 * JSON lines on stdout (what users pipe and what `soda report` reads). `pretty` renders them for a
 * person through pino-pretty instead; the choice is made once, here, never per log call.
 */
export function createLogger(opts: { level?: string; pretty?: boolean; name?: string } = {}): Logger {
  const level = opts.level ?? 'info';
  if (opts.pretty) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const pretty = require('pino-pretty') as (o: object) => NodeJS.WritableStream;
    return pino(
      { level, name: opts.name },
      pretty({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' }),
    );
  }
  return pino({ level, name: opts.name, base: undefined });
}
