// Structured logs: one JSON object per line on stdout, so any log pipeline can parse them.
import { isSpanContextValid, trace } from '@opentelemetry/api';
import { logLevelFromEnv, type LogThreshold } from './config.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const order: Record<LogThreshold, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 50 };
/** The keys every line has; a field of the same name cannot replace them (it goes under `fields`). */
const RESERVED = new Set(['time', 'level', 'service', 'msg', 'traceId', 'fields']);

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** A stream the lines are written to, all the lines of one event-loop turn in one write. */
export interface LogStream {
  write(chunk: string): unknown;
}

/** Where lines go: a function called with each line (no newline) as it is written, or a stream (batched). */
export type LogSink = ((line: string) => void) | LogStream;

/** Lines waiting for the end of the event-loop turn, per stream: loggers sharing a stream keep their lines' order. */
const pending = new Map<LogStream, string>();
let flushScheduled = false;
let exitHookInstalled = false;
/** Past this many characters waiting, they are written at once: one turn that logs a lot holds no unbounded string. */
const MAX_PENDING_CHARS = 64 * 1024;

/** Writes every line still waiting (at the end of each turn, and on process exit: no line is lost). */
export function flushLogs(): void {
  flushScheduled = false;
  for (const [stream, chunk] of pending) {
    pending.delete(stream);
    stream.write(chunk);
  }
}

function enqueue(stream: LogStream, line: string): void {
  const chunk = (pending.get(stream) ?? '') + line + '\n';
  if (chunk.length >= MAX_PENDING_CHARS) {
    pending.delete(stream);
    stream.write(chunk);
    return;
  }
  pending.set(stream, chunk);
  if (!flushScheduled) {
    flushScheduled = true;
    setImmediate(flushLogs);
  }
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // stdout to a file or a pipe is written synchronously on Linux: lines of the last turn still get out.
    process.on('exit', flushLogs);
  }
}

/** A logger whose lines go to `sink`: by default stdout, the lines of each event-loop turn in one write. */
export function createLogger(service: string, sink: LogSink = process.stdout): Logger {
  const least = order[logLevelFromEnv()];
  const emit: (line: string) => void = typeof sink === 'function' ? sink : (line) => enqueue(sink, line);
  const write = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (order[level] < least) return;
    const line: Record<string, unknown> = { time: new Date().toISOString(), level, service, msg };
    // The trace the line was written in (tracing on: services/common/tracing.ts), to find one from the other.
    const spanContext = trace.getActiveSpan()?.spanContext();
    if (spanContext && isSpanContextValid(spanContext)) line.traceId = spanContext.traceId;
    if (fields) {
      let shadowed: Record<string, unknown> | undefined;
      for (const k of Object.keys(fields)) {
        if (RESERVED.has(k)) (shadowed ??= {})[k] = fields[k];
        else line[k] = fields[k];
      }
      if (shadowed) line.fields = shadowed;
    }
    // One JSON.stringify of the line's own object: V8's serializer is faster than building the text by hand.
    emit(JSON.stringify(line));
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
  };
}
