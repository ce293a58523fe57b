// Pod Security Admission, as kube-apiserver's built-in PodSecurity plugin (k8s.io/pod-security-admission) applies
// the namespace labels `pod-security.kubernetes.io/<mode>[-version]`: `enforce` refuses a pod (403 Forbidden,
// "violates PodSecurity"), `warn` answers a Warning on pods and on workload objects' pod templates, `audit` only
// annotates audit events (the sandbox has no audit log). Texts, check order and message shapes follow the plugin:
// checks run in the order of their IDs (baseline ones first), reasons joined by ", ", each with its detail in
// parentheses. Implemented: the baseline checks capabilities_baseline, hostNamespaces, hostPathVolumes, hostPorts,
// privileged, procMount, seccompProfile_baseline and sysctls; `restricted` evaluates those baseline checks only.
import type { KObject } from './types.js';
import { at, listOf, type Fields } from './defaults/fields.js';

export const PSA_PREFIX = 'pod-security.kubernetes.io/';
type Level = 'privileged' | 'baseline' | 'restricted';
type Mode = 'enforce' | 'warn' | 'audit';
const LEVELS: readonly string[] = ['privileged', 'baseline', 'restricted'];

interface LevelVersion {
  level: Level;
  version: string;
}

/** The policy of a namespace's labels; a missing label is privileged:latest (the plugin's default configuration). */
export function policyOf(labels: Record<string, string> | undefined): Record<Mode, LevelVersion> {
  const one = (mode: Mode): LevelVersion => {
    const level = labels?.[`${PSA_PREFIX}${mode}`];
    const version = labels?.[`${PSA_PREFIX}${mode}-version`];
    return {
      // An unparsable enforce level is restricted (fail closed), as the plugin does; warn and audit fail open.
      level:
        level === undefined
          ? 'privileged'
          : LEVELS.includes(level)
            ? (level as Level)
            : mode === 'enforce'
              ? 'restricted'
              : 'privileged',
      version: version !== undefined && /^v1\.(0|[1-9]\d*)$/.test(version) ? version : 'latest',
    };
  };
  return { enforce: one('enforce'), warn: one('warn'), audit: one('audit') };
}

interface Violation {
  reason: string;
  detail: string;
}

const quoteAll = (items: string[]) => items.map((s) => `"${s}"`).join(', ');
const plural = (singular: string, many: string, n: number) => (n === 1 ? singular : many);
// The plugin runs before validation, so a spec may hold anything: every read is checked.
const isMap = (v: unknown): v is Fields => typeof v === 'object' && v !== null && !Array.isArray(v);
/** The list at a path; empty when there is none. */
const listAt = (v: unknown, ...path: string[]): unknown[] => listOf(at(v, ...path));

/** Init containers, containers, ephemeral containers: the plugin's visiting order. */
function containersOf(spec: unknown): Fields[] {
  return [
    ...listAt(spec, 'initContainers'),
    ...listAt(spec, 'containers'),
    ...listAt(spec, 'ephemeralContainers'),
  ].filter(isMap);
}

const BASELINE_CAPABILITIES = new Set([
  'AUDIT_WRITE',
  'CHOWN',
  'DAC_OVERRIDE',
  'FOWNER',
  'FSETID',
  'KILL',
  'MKNOD',
  'NET_BIND_SERVICE',
  'SETFCAP',
  'SETGID',
  'SETPCAP',
  'SETUID',
  'SYS_CHROOT',
]);
const SAFE_SYSCTLS = new Set([
  'kernel.shm_rmid_forced',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.ping_group_range',
  'net.ipv4.ip_local_reserved_ports',
  'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
]);

/** The baseline checks, in the order of their IDs (the order of the reasons in a message). */
const BASELINE_CHECKS: { id: string; run(meta: unknown, spec: unknown): Violation | undefined }[] = [
  {
    id: 'capabilities_baseline',
    run: (_meta, spec) => {
      const bad: string[] = [];
      const caps = new Set<string>();
      for (const c of containersOf(spec)) {
        const added = listAt(c, 'securityContext', 'capabilities', 'add');
        const extra = added.map(String).filter((cap) => !BASELINE_CAPABILITIES.has(cap));
        if (extra.length) {
          bad.push(String(c.name));
          extra.forEach((cap) => caps.add(cap));
        }
      }
      if (!bad.length) return undefined;
      return {
        reason: 'non-default capabilities',
        detail: `${plural('container', 'containers', bad.length)} ${quoteAll(bad)} must not include ${quoteAll([...caps].sort())} in securityContext.capabilities.add`,
      };
    },
  },
  {
    id: 'hostNamespaces',
    run: (_meta, spec) => {
      const bad = ['hostNetwork', 'hostPID', 'hostIPC'].filter((f) => at(spec, f) === true).map((f) => `${f}=true`);
      return bad.length ? { reason: 'host namespaces', detail: bad.join(', ') } : undefined;
    },
  },
  {
    id: 'hostPathVolumes',
    run: (_meta, spec) => {
      const bad = listAt(spec, 'volumes')
        .filter((v): v is Fields => isMap(v) && isMap(v.hostPath))
        .map((v) => String(v.name));
      return bad.length
        ? { reason: 'hostPath volumes', detail: `${plural('volume', 'volumes', bad.length)} ${quoteAll(bad)}` }
        : undefined;
    },
  },
  {
    id: 'hostPorts',
    run: (_meta, spec) => {
      const bad: string[] = [];
      const ports = new Set<string>();
      for (const c of containersOf(spec)) {
        const used = listAt(c, 'ports')
          .filter((p): p is Fields => isMap(p) && Boolean(p.hostPort) && Number(p.hostPort) !== 0)
          .map((p) => String(p.hostPort));
        if (used.length) {
          bad.push(String(c.name));
          used.forEach((p) => ports.add(p));
        }
      }
      if (!bad.length) return undefined;
      // sets.String lists sort as strings, as the plugin's do.
      const list = [...ports].sort();
      return {
        reason: 'hostPort',
        detail: `${plural('container', 'containers', bad.length)} ${quoteAll(bad)} ${plural('uses', 'use', bad.length)} ${plural('hostPort', 'hostPorts', list.length)} ${list.join(', ')}`,
      };
    },
  },
  {
    id: 'privileged',
    run: (_meta, spec) => {
      const bad = containersOf(spec)
        .filter((c) => at(c, 'securityContext', 'privileged') === true)
        .map((c) => String(c.name));
      return bad.length
        ? {
            reason: 'privileged',
            detail: `${plural('container', 'containers', bad.length)} ${quoteAll(bad)} must not set securityContext.privileged=true`,
          }
        : undefined;
    },
  },
  {
    id: 'procMount',
    run: (_meta, spec) => {
      const bad: string[] = [];
      const types = new Set<string>();
      for (const c of containersOf(spec)) {
        const t = at(c, 'securityContext', 'procMount');
        if (t !== undefined && t !== null && t !== 'Default') {
          bad.push(String(c.name));
          types.add(String(t));
        }
      }
      if (!bad.length) return undefined;
      return {
        reason: 'procMount',
        detail: `${plural('container', 'containers', bad.length)} ${quoteAll(bad)} must not set securityContext.procMount to ${quoteAll([...types].sort())}`,
      };
    },
  },
  {
    id: 'seccompProfile_baseline',
    run: (_meta, spec) => {
      const parts: string[] = [];
      if (at(spec, 'securityContext', 'seccompProfile', 'type') === 'Unconfined') parts.push('pod');
      const bad = containersOf(spec)
        .filter((c) => at(c, 'securityContext', 'seccompProfile', 'type') === 'Unconfined')
        .map((c) => String(c.name));
      if (bad.length) parts.push(`${plural('container', 'containers', bad.length)} ${quoteAll(bad)}`);
      if (!parts.length) return undefined;
      return {
        reason: 'seccompProfile',
        detail: `${parts.join(' and ')} must not set securityContext.seccompProfile.type to "Unconfined"`,
      };
    },
  },
  {
    id: 'sysctls',
    run: (_meta, spec) => {
      const bad = listAt(spec, 'securityContext', 'sysctls')
        .filter((s): s is Fields => isMap(s) && !SAFE_SYSCTLS.has(String(s.name)))
        .map((s) => String(s.name));
      return bad.length ? { reason: 'forbidden sysctls', detail: bad.join(', ') } : undefined;
    },
  },
];

function evaluate(level: Level, meta: unknown, spec: unknown): Violation[] {
  if (level === 'privileged') return [];
  return BASELINE_CHECKS.map((c) => c.run(meta, spec)).filter((v): v is Violation => v !== undefined);
}

const detailOf = (vs: Violation[]) => vs.map((v) => (v.detail ? `${v.reason} (${v.detail})` : v.reason)).join(', ');
const levelVersion = (lv: LevelVersion) => `${lv.level}:${lv.version}`;

export interface PodSecurityResult {
  /** The enforce denial's text (after `pods "<name>" is forbidden: `), when the pod is refused. */
  denied?: string;
  warnings: string[];
}

/**
 * A pod (`enforce` true) or a workload's pod template (`enforce` false: only warn applies, as the plugin does for pod
 * controllers) against the namespace's labels.
 */
export function checkPodSecurity(
  nsLabels: Record<string, string> | undefined,
  meta: unknown,
  spec: unknown,
  enforce: boolean,
): PodSecurityResult {
  const policy = policyOf(nsLabels);
  const out: PodSecurityResult = { warnings: [] };
  if (enforce) {
    const v = evaluate(policy.enforce.level, meta, spec);
    if (v.length) {
      out.denied = `violates PodSecurity "${levelVersion(policy.enforce)}": ${detailOf(v)}`;
      return out; // no warnings on a request that is refused
    }
  }
  const w = evaluate(policy.warn.level, meta, spec);
  if (w.length) out.warnings.push(`would violate PodSecurity "${levelVersion(policy.warn)}": ${detailOf(w)}`);
  return out;
}

/** The pod template of a pod controller (what the plugin's PodSpecExtractor reads); undefined for other kinds. */
export function podTemplateOf(kind: string, obj: KObject): { meta: unknown; spec: unknown } | undefined {
  switch (kind) {
    case 'Deployment':
    case 'ReplicaSet':
    case 'StatefulSet':
    case 'DaemonSet':
    case 'Job':
    case 'ReplicationController':
    case 'PodTemplate': {
      const t = kind === 'PodTemplate' ? obj.template : obj.spec?.template;
      return isMap(t) ? { meta: t.metadata ?? {}, spec: t.spec ?? {} } : undefined;
    }
    case 'CronJob': {
      const t = obj.spec?.jobTemplate?.spec?.template;
      return isMap(t) ? { meta: t.metadata ?? {}, spec: t.spec ?? {} } : undefined;
    }
    default:
      return undefined;
  }
}
