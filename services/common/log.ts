// Structured logs: one JSON object per line on stdout, so any log pipeline can parse them.
import { isSpanContextValid, trace } from '@opentelemetry/api';
import { logLevelFromEnv, type LogThreshold } from './config.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const order: Record<LogThreshold, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 50 };
/** The keys every line has; a field of the same name cannot replace them (it goes under `fields`). */
const RESERVED = new Set(['time', 'level', 'service', 'msg', 'traceId']);

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
  const least = order[logLevelFromEnv()];
  const write = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (order[level] < least) return;
    const line: Record<string, unknown> = { time: new Date().toISOString(), level, service, msg };
    // The trace the line was written in (tracing on: services/common/tracing.ts), to find one from the other.
    const spanContext = trace.getActiveSpan()?.spanContext();
    if (spanContext && isSpanContextValid(spanContext)) line.traceId = spanContext.traceId;
    let shadowed: Record<string, unknown> | undefined;
    for (const [k, v] of Object.entries(fields ?? {})) {
      if (RESERVED.has(k) || k === 'fields') (shadowed ??= {})[k] = v;
      else line[k] = v;
    }
    if (shadowed) line.fields = shadowed;
    sink(JSON.stringify(line));
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
  };
}
