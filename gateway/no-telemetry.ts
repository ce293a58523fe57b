// Imported first by every entry point and by gateway.ts, before @apollo/gateway: unless APOLLO_TELEMETRY_DISABLED is
// set when an ApolloGateway is built, @apollo/gateway 2.x reports usage telemetry to Apollo and probes cloud metadata
// addresses (AWS, GCP, Azure, Alibaba resource detectors). kubegraph connects only to what its operator configured
// (DESIGN.md "Network"), so this is not a setting: it is always off.
process.env.APOLLO_TELEMETRY_DISABLED = 'true';

export {};
