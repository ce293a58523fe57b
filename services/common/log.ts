// Structured logs: one JSON object per line on stdout, so any log pipeline can parse them.
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const order: Record<LogLevel | 'silent', number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 50 };

/** LOG_LEVEL, checked like every other variable: a misspelt level stops the service instead of logging everything. */
function threshold(): number {
  const level = process.env.LOG_LEVEL || 'info';
  if (!Object.hasOwn(order, level))
    throw new Error(`LOG_LEVEL must be one of ${Object.keys(order).join(', ')} (got "${level}")`);
  return order[level as keyof typeof order];
}

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export function createLogger(
  service: string,
  sink: (line: string) => void = (l) => process.stdout.write(l + '\n'),
): Logger {
  const least = threshold();
  const write = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (order[level] < least) return;
    sink(JSON.stringify({ time: new Date().toISOString(), level, service, msg, ...fields }));
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
  };
}
