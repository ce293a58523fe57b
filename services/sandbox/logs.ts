// Container logs, as the kubelet serves them through the API server's pods/<name>/log subresource. There are no
// real containers, so each container instance's log is a pure function of (pod uid, container, image, instance
// start) and the line index: asking twice gives the same text, and a line once written never changes. Lines are
// spread over the container's running time (older lines fall out past a cap, as log rotation would do), so
// sinceSeconds, tailLines and timestamps behave as on a real cluster, and `follow` streams new lines as they fall due.
//
// logs/options.ts: PodLogOptions from the query; logs/instance.ts: which container instance a request reads;
// logs/random.ts: the deterministic random source; logs/timing.ts: when each line falls due;
// logs/lines.ts: the line generators per image flavor; logs/serve.ts: answering and following.
export { MAX_LOG_LINES, parseLogOptions } from './logs/options.js';
export type { LogOptions } from './logs/options.js';
export { hash32 } from './logs/random.js';
export { flavorOf } from './logs/timing.js';
export { rfc3339Nano } from './logs/lines.js';
export { servePodLog } from './logs/serve.js';
