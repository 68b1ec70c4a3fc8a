/**
 * The `mgmt_svc_db` section of daos_server.yml: where the management-service database (etcd)
 * lives and how fast it elects. Keys are snake_case as in the YAML file.
 */

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
    dataDir: "",
    etcdBinary: "/usr/bin/etcd",
  };
}

const KEY_MAP: Record<string, keyof MgmtSvcDbConfig> = {
  endpoints: "endpoints",
  client_port: "clientPort",
  peer_port: "peerPort",
  ports: "ports",
  election_timeout_ms: "electionTimeoutMs",
  heartbeat_interval_ms: "heartbeatIntervalMs",
  lease_ttl_s: "leaseTtlS",
  call_timeout_ms: "callTimeoutMs",
  write_retry_ms: "writeRetryMs",
  host_dead_after_ms: "hostDeadAfterMs",
  probe_interval_ms: "probeIntervalMs",
  data_dir: "dataDir",
  etcd_binary: "etcdBinary",
};

function port(v: unknown, what: string): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > 65535) {
    throw new Error(`mgmt_svc_db.${what}: ${JSON.stringify(v)} is not a port (use 1-65535)`);
  }
  return v;
}

function positive(v: unknown, what: string): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) {
    throw new Error(`mgmt_svc_db.${what}: ${JSON.stringify(v)} must be a positive number`);
  }
  return v;
}

/**
 * Validates a raw `mgmt_svc_db` mapping (as parsed from YAML) and fills defaults. Errors name
 * the key and the fix.
 */
export function parseMgmtSvcDbConfig(raw: unknown): MgmtSvcDbConfig {
  const cfg = defaultMgmtSvcDbConfig();
  if (raw === undefined || raw === null) return cfg;
  if (typeof raw !== "object" || Array.isArray(raw)) {
    throw new Error("mgmt_svc_db: must be a mapping of keys (e.g. client_port: 2379)");
  }
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    const field = KEY_MAP[k];
    if (!field) {
      throw new Error(
        `mgmt_svc_db: unknown key "${k}" (known: ${Object.keys(KEY_MAP).join(", ")})`,
      );
    }
    switch (field) {
      case "endpoints":
        if (!Array.isArray(v) || v.some((e) => typeof e !== "string" || !/^https?:\/\//.test(e))) {
          throw new Error(
            "mgmt_svc_db.endpoints: must be a list of etcd client URLs like http://10.0.0.1:2379",
          );
        }
        cfg.endpoints = v as string[];
        break;
      case "clientPort":
      case "peerPort":
        cfg[field] = port(v, k);
        break;
      case "ports": {
        if (typeof v !== "object" || v === null || Array.isArray(v)) {
          throw new Error(
            'mgmt_svc_db.ports: must map replica addresses to {client, peer}, e.g. "127.0.0.1:10001": {client: 2379, peer: 2380}',
          );
        }
        for (const [addr, p] of Object.entries(v as Record<string, unknown>)) {
          const pp = p as Record<string, unknown> | null;
          cfg.ports[addr] = {
            client: port(pp?.client, `ports."${addr}".client`),
            peer: port(pp?.peer, `ports."${addr}".peer`),
          };
        }
        break;
      }
      case "dataDir":
      case "etcdBinary":
        if (typeof v !== "string" || v === "") {
          throw new Error(`mgmt_svc_db.${k}: must be a non-empty path`);
        }
        cfg[field] = v;
        break;
      default:
        cfg[field] = positive(v, k);
    }
  }
  return cfg;
}

/** Ports of the etcd member belonging to replica `addr`. */
export function etcdPortsFor(cfg: MgmtSvcDbConfig, addr: string): EtcdPorts {
  return cfg.ports[addr] ?? { client: cfg.clientPort, peer: cfg.peerPort };
}

/**
 * Directory holding the local etcd member's data: `<control_metadata.path>/daos_control/mgmt_db`
 * when control metadata is configured, else `<engine 0 scm_mount>/mgmt_db`.
 */
export function mgmtDbDir(
  cfg: MgmtSvcDbConfig,
  where: { controlMetadataPath?: string; engine0ScmMount?: string },
): string {
  if (cfg.dataDir) return cfg.dataDir;
  if (where.controlMetadataPath) return `${where.controlMetadataPath}/daos_control/mgmt_db`;
  if (where.engine0ScmMount) return `${where.engine0ScmMount}/mgmt_db`;
  throw new Error(
    "mgmt_svc_db: no place for the MS database (set control_metadata.path, an engine 0 scm_mount, or mgmt_svc_db.data_dir)",
  );
}
