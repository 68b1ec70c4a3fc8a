/**
 * The `mgmt_svc_db` section of daos_server.yml (our own key): where the management-service
 * database (etcd) lives and how fast it elects. Read once by the config loader into the typed
 * {@link MgmtSvcDbConfig}; every problem is located at file:line:col like any other key.
 */
import { isMap, isScalar, isSeq } from "yaml";
import { FaultCode } from "../lib/fault.ts";
import { itemMap, type MapReader, offsetOf } from "./yaml_reader.ts";

/** Client and peer ports of one replica's etcd member. */
export interface EtcdPorts {
  client: number;
  peer: number;
}

/** Parsed `mgmt_svc_db` section (all fields defaulted, see {@link defaultMgmtSvcDbConfig}). */
export interface MgmtSvcDbConfig {
  /** Existing etcd cluster client URLs; non-empty means "do not start a local member". */
  endpoints: string[];
  /** etcd client port of every replica's member (default 2379). */
  clientPort: number;
  /** etcd peer port of every replica's member (default 2380). */
  peerPort: number;
  /**
   * Per-replica port overrides keyed by replica control address ("IP:port"), for several
   * replicas on one host (tests, demos).
   */
  ports: Record<string, EtcdPorts>;
  /** etcd --election-timeout in ms (default 500). */
  electionTimeoutMs: number;
  /** etcd --heartbeat-interval in ms (default 50). */
  heartbeatIntervalMs: number;
  /** TTL of the leadership lease in seconds (default 2): leadership is lost this long after the leader's last keep-alive. */
  leaseTtlS: number;
  /** Deadline for each etcd call in ms (default 500). */
  callTimeoutMs: number;
  /**
   * How long the leader retries a write after transient etcd errors (slow call, dropped
   * connection) before failing the request (default 3000).
   */
  writeRetryMs: number;
  /** A daos_server unreachable this long has its ranks marked Unresponsive (default 2000). */
  hostDeadAfterMs: number;
  /** How often the leader probes member hosts (default 500). */
  probeIntervalMs: number;
  /** RAS events the MS keeps (oldest dropped first; default 10000). */
  rasLogSize: number;
  /** Audit records the MS keeps (oldest dropped first; default 10000). */
  auditLogSize: number;
  /** Data directory override; default derived from control metadata / engine 0 SCM. */
  dataDir: string;
  /** etcd binary (default /usr/bin/etcd). */
  etcdBinary: string;
}

/** Defaults for every `mgmt_svc_db` key. */
export function defaultMgmtSvcDbConfig(): MgmtSvcDbConfig {
  return {
    endpoints: [],
    clientPort: 2379,
    peerPort: 2380,
    ports: {},
    electionTimeoutMs: 500,
    heartbeatIntervalMs: 50,
    leaseTtlS: 2,
    callTimeoutMs: 500,
    writeRetryMs: 3000,
    hostDeadAfterMs: 2000,
    probeIntervalMs: 500,
    rasLogSize: 10000,
    auditLogSize: 10000,
    dataDir: "",
    etcdBinary: "/usr/bin/etcd",
  };
}

/** The positive-number keys (durations, TTL) by YAML name. */
const POSITIVE_KEYS = {
  election_timeout_ms: "electionTimeoutMs",
  heartbeat_interval_ms: "heartbeatIntervalMs",
  lease_ttl_s: "leaseTtlS",
  call_timeout_ms: "callTimeoutMs",
  write_retry_ms: "writeRetryMs",
  host_dead_after_ms: "hostDeadAfterMs",
  probe_interval_ms: "probeIntervalMs",
} as const;

/** The entry-count keys (log bounds) by YAML name: whole numbers ≥ 1. */
const COUNT_KEYS = {
  ras_log_size: "rasLogSize",
  audit_log_size: "auditLogSize",
} as const;

/** Every key the section accepts, in the order the unknown-key resolution lists them. */
export const MGMT_SVC_DB_KEYS = [
  "endpoints",
  "client_port",
  "peer_port",
  "ports",
  ...Object.keys(POSITIVE_KEYS),
  ...Object.keys(COUNT_KEYS),
  "data_dir",
  "etcd_binary",
];

/** A value node in words for messages (scalars as JSON, like the values written). */
function valueText(node: unknown): string {
  if (isScalar(node)) return JSON.stringify(node.value);
  if (isMap(node)) return "a map";
  if (isSeq(node)) return "a list";
  return String(node);
}

/** The value of `key` when present and not null. */
function present(m: MapReader, key: string): unknown {
  const v = m.raw(key);
  return v === undefined || v === null || (isScalar(v) && v.value === null) ? undefined : v;
}

/** A port (1-65535) at `key` of `m`; `label` names it in messages. Reports and returns null. */
function readPort(m: MapReader, key: string, label: string): number | null {
  const v = m.raw(key);
  const n = isScalar(v) ? v.value : undefined;
  if (typeof n === "number" && Number.isInteger(n) && n >= 1 && n <= 65535) return n;
  m.problem(
    key,
    FaultCode.ServerBadConfig,
    v === undefined
      ? `${label}: missing (a port is required)`
      : `${label}: ${valueText(v)} is not a port (use 1-65535)`,
    `set ${label} to a port number between 1 and 65535`,
  );
  return null;
}

/**
 * A path value (data_dir, etcd_binary): a non-empty string; with `emptyIsUnset`, "" means
 * the default (data_dir: "" always meant "derive it", and the active config writes it so).
 */
function readPath(m: MapReader, key: string, emptyIsUnset = false): string | null {
  const v = present(m, key);
  if (v === undefined) return null;
  const s = isScalar(v) && typeof v.value === "string" ? m.str(key, "") : "";
  if (s !== "" || (emptyIsUnset && isScalar(v) && v.value === "")) return s;
  // A control character was reported by str() already.
  if (!(isScalar(v) && typeof v.value === "string" && v.value !== "")) {
    m.problem(
      key,
      FaultCode.ServerBadConfig,
      `${m.path(key)}: must be a non-empty path, got ${valueText(v)}`,
      `set ${m.path(key)} to an absolute path or remove it for the default`,
    );
  }
  return null;
}

function readEndpoints(m: MapReader): string[] {
  const items = m.seq("endpoints");
  if (items === null) return []; // not a list: reported by seq()
  const out: string[] = [];
  items.forEach((item, i) => {
    const v = isScalar(item) ? item.value : undefined;
    if (typeof v === "string" && /^https?:\/\//.test(v)) {
      out.push(v);
      return;
    }
    m.ctx.problems.add(
      offsetOf(item) >= 0 ? offsetOf(item) : m.at("endpoints"),
      FaultCode.ServerBadConfig,
      `${m.path("endpoints")}: must be a list of etcd client URLs like http://10.0.0.1:2379; ` +
        `entry ${i} is ${valueText(item)}`,
      `write each entry of ${m.path("endpoints")} as http://<host>:<client port>`,
    );
  });
  return out;
}

function readPorts(m: MapReader): Record<string, EtcdPorts> {
  const ports: Record<string, EtcdPorts> = {};
  const p = m.map("ports");
  if (!p) return ports;
  for (const addr of p.keys()) {
    const where = `${p.path(`"${addr}"`)}`;
    const e = itemMap(m.ctx, p.raw(addr), where);
    if (!e) continue;
    const client = readPort(e, "client", `${where}.client`);
    const peer = readPort(e, "peer", `${where}.peer`);
    e.finish();
    if (client !== null && peer !== null) ports[addr] = { client, peer };
  }
  return ports;
}

/**
 * Reads `mgmt_svc_db` from the top-level map: defaults filled, each problem (wrong type,
 * range, unknown key) recorded at its position with the key path and the fix.
 */
export function readMgmtSvcDb(top: MapReader): MgmtSvcDbConfig {
  const cfg = defaultMgmtSvcDbConfig();
  const m = top.map("mgmt_svc_db");
  if (!m) return cfg;
  cfg.endpoints = readEndpoints(m);
  for (const [key, field] of [["client_port", "clientPort"], ["peer_port", "peerPort"]] as const) {
    if (present(m, key) === undefined) continue;
    cfg[field] = readPort(m, key, m.path(key)) ?? cfg[field];
  }
  cfg.ports = readPorts(m);
  for (const [key, field] of Object.entries(POSITIVE_KEYS)) {
    const v = present(m, key);
    if (v === undefined) continue;
    const n = isScalar(v) ? v.value : undefined;
    if (typeof n === "number" && Number.isFinite(n) && n > 0) {
      cfg[field] = n;
      continue;
    }
    m.problem(
      key,
      FaultCode.ServerBadConfig,
      `${m.path(key)}: ${valueText(v)} must be a positive number`,
      `set ${m.path(key)} to a number greater than 0 or remove it for the default`,
    );
  }
  for (const [key, field] of Object.entries(COUNT_KEYS)) {
    const v = present(m, key);
    if (v === undefined) continue;
    const n = isScalar(v) ? v.value : undefined;
    if (typeof n === "number" && Number.isInteger(n) && n >= 1 && n <= 10_000_000) {
      cfg[field] = n;
      continue;
    }
    m.problem(
      key,
      FaultCode.ServerBadConfig,
      `${m.path(key)}: ${valueText(v)} must be a whole number of entries from 1 to 10000000`,
      `set ${m.path(key)} to the number of entries to keep or remove it for the default (10000)`,
    );
  }
  cfg.dataDir = readPath(m, "data_dir", true) ?? cfg.dataDir;
  cfg.etcdBinary = readPath(m, "etcd_binary") ?? cfg.etcdBinary;
  m.finish(() => `remove it; mgmt_svc_db knows ${MGMT_SVC_DB_KEYS.join(", ")}`);
  return cfg;
}
