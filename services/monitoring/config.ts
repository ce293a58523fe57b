// The monitoring subgraph's environment variables, validated once at start (README "Configuration").
import { ConfigError, envHttpUrl, envInt, envString } from '../common/config.js';
import type { MonitoringSubgraphOptions } from './server.js';

export function monitoringOptionsFromEnv(): MonitoringSubgraphOptions {
  const prometheusUrl = envHttpUrl('PROMETHEUS_URL', 'http://prometheus:9090');
  const rateWindow = envString('PROMETHEUS_RATE_WINDOW', '5m')!;
  if (!/^\d+(ms|s|m|h|d|w|y)$/.test(rateWindow)) {
    throw new ConfigError(
      `PROMETHEUS_RATE_WINDOW=${JSON.stringify(rateWindow)} is not a valid value: expected a PromQL duration such as 5m`,
    );
  }
  return {
    port: envInt('MONITORING_PORT', 4003, { min: 0, max: 65535 }),
    host: envString('MONITORING_HOST', '127.0.0.1'),
    prometheusUrl,
    prometheusTimeoutMs: envInt('PROMETHEUS_TIMEOUT_MS', 5000, { min: 1, max: 600_000 }),
    prometheusBreakerMs: envInt('PROMETHEUS_BREAKER_MS', 5000, { min: 0, max: 3_600_000 }),
    rateWindow,
  };
}
