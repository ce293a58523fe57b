// The logging subgraph's environment variables, validated once at start (README "Configuration").
import { readFileSync } from 'node:fs';
import { ConfigError, envHttpUrl, envInt, envString } from '../common/config.js';
import type { LoggingSubgraphOptions } from './server.js';

export const DEFAULT_INDEX_PREFIX = 'ks-logstash-log';
/** The longest line `contains` should find as any substring (what the test stack's index template holds). */
export const DEFAULT_LONGEST_LINE = 8191;

/** ELASTICSEARCH_URL and its credentials; undefined when the variable is unset. */
export function elasticsearchFromEnv(): LoggingSubgraphOptions['elasticsearch'] {
  const url = envHttpUrl('ELASTICSEARCH_URL', 'http://elasticsearch:9200');
  const username = envString('ELASTICSEARCH_USERNAME');
  const password = envString('ELASTICSEARCH_PASSWORD');
  const apiKey = envString('ELASTICSEARCH_API_KEY');
  const caFile = envString('ELASTICSEARCH_CA_FILE');
  if (url === undefined) {
    for (const [name, v] of Object.entries({
      ELASTICSEARCH_USERNAME: username,
      ELASTICSEARCH_PASSWORD: password,
      ELASTICSEARCH_API_KEY: apiKey,
      ELASTICSEARCH_CA_FILE: caFile,
    })) {
      if (v !== undefined) throw new ConfigError(`${name} is set but ELASTICSEARCH_URL is not: set both or neither`);
    }
    return undefined;
  }
  const { username: urlUser, password: urlPassword } = new URL(url);
  if (urlUser || urlPassword) {
    throw new ConfigError(
      'ELASTICSEARCH_URL must not carry credentials: set ELASTICSEARCH_USERNAME and ELASTICSEARCH_PASSWORD (or ELASTICSEARCH_API_KEY)',
    );
  }
  if ((username === undefined) !== (password === undefined)) {
    throw new ConfigError('ELASTICSEARCH_USERNAME and ELASTICSEARCH_PASSWORD go together: set both or neither');
  }
  if (apiKey !== undefined && username !== undefined) {
    throw new ConfigError('set ELASTICSEARCH_API_KEY or ELASTICSEARCH_USERNAME/PASSWORD, not both');
  }
  let caPem: string | undefined;
  if (caFile !== undefined) {
    try {
      caPem = readFileSync(caFile, 'utf8');
    } catch (e) {
      throw new ConfigError(`ELASTICSEARCH_CA_FILE=${JSON.stringify(caFile)} cannot be read: ${(e as Error).message}`);
    }
    if (!caPem.includes('-----BEGIN CERTIFICATE-----')) {
      throw new ConfigError(`ELASTICSEARCH_CA_FILE=${JSON.stringify(caFile)} holds no PEM certificate`);
    }
  }
  return {
    url,
    ...(username !== undefined ? { username, password } : {}),
    ...(apiKey !== undefined ? { apiKey } : {}),
    ...(caPem !== undefined ? { caPem } : {}),
  };
}

export function loggingOptionsFromEnv(): LoggingSubgraphOptions {
  const indexPrefix = envString('ELASTICSEARCH_INDEX_PREFIX', DEFAULT_INDEX_PREFIX)!;
  // An index name part: lowercase, none of Elasticsearch's forbidden characters, and no wildcard or comma of ours.
  if (!/^[a-z0-9][a-z0-9._-]{0,200}$/.test(indexPrefix)) {
    throw new ConfigError(
      `ELASTICSEARCH_INDEX_PREFIX=${JSON.stringify(indexPrefix)} is not a valid value: expected a lowercase index name prefix such as ${DEFAULT_INDEX_PREFIX}`,
    );
  }
  return {
    port: envInt('LOGGING_PORT', 4004, { min: 0, max: 65535 }),
    host: envString('LOGGING_HOST', '127.0.0.1'),
    elasticsearch: elasticsearchFromEnv(),
    indexPrefix,
    timeoutMs: envInt('ELASTICSEARCH_TIMEOUT_MS', 5000, { min: 1, max: 600_000 }),
    breakerMs: envInt('ELASTICSEARCH_BREAKER_MS', 5000, { min: 0, max: 3_600_000 }),
    maxConcurrentSearches: envInt('ELASTICSEARCH_MAX_CONCURRENT_SEARCHES', 16, { min: 1, max: 1000 }),
    maxQueuedSearches: envInt('ELASTICSEARCH_MAX_QUEUED_SEARCHES', 1000, { min: 0, max: 100_000 }),
    longestLine: envInt('ELASTICSEARCH_LONGEST_LINE', DEFAULT_LONGEST_LINE, { min: 1, max: 32_766 }),
  };
}
