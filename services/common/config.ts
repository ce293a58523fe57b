// Environment variables, read and validated once at start; a bad value stops the process with a message
// that names the variable.
export class ConfigError extends Error {}

export function envString(name: string, fallback?: string): string | undefined {
  const v = process.env[name];
  return v === undefined || v === '' ? fallback : v;
}

export function envInt(name: string, fallback: number, range: { min?: number; max?: number } = {}): number {
  const raw = envString(name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (
    !Number.isInteger(n) ||
    (range.min !== undefined && n < range.min) ||
    (range.max !== undefined && n > range.max)
  ) {
    const bounds = [range.min !== undefined ? `>= ${range.min}` : '', range.max !== undefined ? `<= ${range.max}` : '']
      .filter(Boolean)
      .join(' and ');
    throw new ConfigError(
      `${name}=${JSON.stringify(raw)} is not a valid value: expected an integer${bounds ? ' ' + bounds : ''}`,
    );
  }
  return n;
}

export function envNumber(name: string, fallback: number, range: { min?: number; max?: number } = {}): number {
  const raw = envString(name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || (range.min !== undefined && n < range.min) || (range.max !== undefined && n > range.max)) {
    throw new ConfigError(`${name}=${JSON.stringify(raw)} is not a valid value: expected a number`);
  }
  return n;
}

export function envBool(name: string, fallback: boolean): boolean {
  const raw = envString(name);
  if (raw === undefined) return fallback;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigError(`${name}=${JSON.stringify(raw)} is not a valid value: expected true or false`);
}

/** An http(s) URL such as `example` (named in the error), as it is written; undefined when unset. */
export function envHttpUrl(name: string, example: string): string | undefined {
  const raw = envString(name);
  if (raw === undefined) return undefined;
  let protocol: string | undefined;
  try {
    protocol = new URL(raw).protocol;
  } catch {
    protocol = undefined;
  }
  if (protocol !== 'http:' && protocol !== 'https:') {
    throw new ConfigError(
      `${name}=${JSON.stringify(raw)} is not a valid value: expected an http(s) URL such as ${example}`,
    );
  }
  return raw;
}

/** The least severe log line written (LOG_LEVEL). */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogThreshold = (typeof LOG_LEVELS)[number];

/** LOG_LEVEL, checked like every other variable: a misspelt level stops the service instead of logging everything. */
export function logLevelFromEnv(): LogThreshold {
  const level = envString('LOG_LEVEL', 'info')!;
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new ConfigError(
      `LOG_LEVEL=${JSON.stringify(level)} is not a valid value: expected one of ${LOG_LEVELS.join(', ')}`,
    );
  }
  return level as LogThreshold;
}

/** NODE_ENV=production (introspection off by default); read here only, like every other variable. */
export function isProduction(): boolean {
  return envString('NODE_ENV') === 'production';
}

/**
 * METRICS_TOKEN: when set, /metrics of every service wants `Authorization: Bearer <it>` (what Prometheus sends with a
 * scrape config's `authorization: { credentials: ... }`); unset, /metrics is open, as on a private network.
 */
export function metricsTokenFromEnv(): string | undefined {
  const v = envString('METRICS_TOKEN');
  if (v !== undefined && v.length < 16) throw new ConfigError('METRICS_TOKEN must be at least 16 characters');
  return v;
}

/**
 * Calls `stop` on SIGINT, SIGTERM and SIGHUP (Ctrl-C, `kill`, systemd, `docker stop`, a closed terminal), and when
 * the parent process is gone (a wrapper such as npm killed without passing a signal on): Linux tells a child nothing
 * when its parent dies, so the parent is polled. `stop` may be called more than once.
 */
export function stopOnSignals(stop: () => void, pollMs = 1000): void {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, stop);
  const parent = process.ppid;
  // 0 or 1: started by the kernel or init (a container's PID 1, systemd), whose end is the machine's.
  if (parent > 1) {
    setInterval(() => {
      if (process.ppid !== parent) stop();
    }, pollMs).unref();
  }
}

/**
 * The entry point of a service started on its own: starts it (configuration errors printed plainly), then closes it
 * and exits on a stop signal.
 */
export async function runService(start: () => Promise<{ close(): Promise<void> }>): Promise<void> {
  await runMain(async () => {
    const service = await start();
    let stopping = false;
    stopOnSignals(() => {
      if (stopping) return;
      stopping = true;
      void service.close().finally(() => process.exit(0));
    });
  });
}

/** Runs a start function, printing configuration errors plainly instead of as a stack trace. */
export async function runMain(main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(`configuration error: ${e.message}`);
      process.exit(2);
    }
    throw e;
  }
}
