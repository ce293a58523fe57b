/**
 * Every port `npm start` listens on, as 0 (any free port): a test or benchmark that starts kubegraph must collide
 * neither with another one running in parallel nor with a kubegraph started by hand. Spread it into the child's
 * environment, then name the ports the caller must know (the gateway's, usually).
 */
export const ANY_FREE_PORTS = {
  GATEWAY_PORT: '0',
  ACCOUNTS_PORT: '0',
  WORKLOADS_PORT: '0',
  MONITORING_PORT: '0',
  SANDBOX_PORT: '0',
  LOGGING_PORT: '0',
  APPS_PORT: '0',
  ES_PORT: '0',
} as const;
