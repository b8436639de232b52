import { pino, type Logger } from 'pino';

/**
 * The process logger: JSON lines (pino) by default, pretty-printed when
 * stderr is a terminal. Level from STORAGED_LOG_LEVEL (default info).
 * Logs go to stderr so command output on stdout stays clean.
 */
export function createLogger(name = 'storaged', level = process.env.STORAGED_LOG_LEVEL ?? 'info'): Logger {
  if (process.stderr.isTTY) {
    return pino({
      name,
      level,
      transport: { target: 'pino-pretty', options: { destination: 2, colorize: true, translateTime: 'SYS:HH:MM:ss.l' } },
    });
  }
  return pino({ name, level }, pino.destination(2));
}

export type { Logger };
