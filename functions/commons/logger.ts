// A small structured JSON logger: one line per entry on stdout, never whole events.

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;
type Level = Exclude<keyof typeof LEVELS, 'silent'>;
type Fields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: Fields): void;
  info(message: string, fields?: Fields): void;
  warn(message: string, fields?: Fields): void;
  error(message: string, fields?: Fields): void;
  /** Adds fields to every later entry (e.g. the Lambda request id); replaces earlier ones. */
  setContext(fields: Fields): void;
}

function thresholdFrom(raw: string | undefined): number {
  const key = (raw ?? 'info').toLowerCase();
  return key in LEVELS ? LEVELS[key as keyof typeof LEVELS] : LEVELS.info;
}

/** Errors serialize as name and message only: stacks and causes stay out of log lines by default. */
function plain(value: unknown): unknown {
  return value instanceof Error ? { name: value.name, message: value.message } : value;
}

export function createLogger(
  service: string,
  write: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
): Logger {
  const threshold = thresholdFrom(process.env.LOG_LEVEL);
  let context: Fields = {};
  const log =
    (level: Level) =>
    (message: string, fields: Fields = {}) => {
      if (LEVELS[level] < threshold) return;
      const entry: Fields = { level, time: new Date().toISOString(), service, message, ...context };
      for (const [key, value] of Object.entries(fields)) entry[key] = plain(value);
      write(JSON.stringify(entry));
    };
  return {
    debug: log('debug'),
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    setContext(fields) {
      context = { ...fields };
    },
  };
}
