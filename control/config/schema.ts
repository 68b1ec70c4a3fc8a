/**
 * Reads daos_server.yml nodes into a defaulted `ServerConfig` (server.md §1.2–§1.7): types,
 * per-key ranges and unknown keys. Cross-field rules live in validate.ts.
 */
import { isScalar } from "yaml";
import { FaultCode } from "../lib/fault.ts";
import { systemPathReason } from "../lib/system_paths.ts";
import { itemMap, type MapReader, type ReadContext } from "./yaml_reader.ts";
import { readMgmtSvcDb } from "./mgmt_svc_db.ts";
import {
  type AccelerationConfig,
  type BdevAutoFaultyConfig,
  type BdevClass,
  type BdevTier,
  type EngineConfig,
  type FabricConfig,
  ROLE_BITS,
  type ScmTier,
  type ServerConfig,
  type SpdkIobufConfig,
  type SpdkRpcServerConfig,
} from "./types.ts";

const U32 = 0xffffffff;
const I32 = 0x7fffffff;

/** Compiled-in defaults (server.md §1.2, §1.4). */
export const DEFAULTS = {
  name: "daos_server",
  port: 10001,
  socketDir: "/var/run/daos_server",
  systemRamReserved: 64,
  coreDumpFilter: 0x13,
  controlLogMask: "INFO",
  engineAutoRestartMinDelay: 300,
  certDir: "/etc/daos/certs",
} as const;

const LOG_LEVELS = ["DISABLED", "TRACE", "DEBUG", "INFO", "NOTICE", "ERROR"];

/** Fabric keys accepted both at top level and per engine. */
const FABRIC_KEYS = [
  "provider",
  "fabric_iface",
  "fabric_iface_port",
  "crt_timeout",
  "disable_srx",
  "fabric_auth_key",
  "secondary_provider_endpoints",
  "bypass_health_chk",
] as const;

/** Reads the fabric block of a map; unset fields inherit from `parent`. */
function readFabric(m: MapReader, parent: FabricConfig | null): FabricConfig {
  const p = parent;
  return {
    provider: m.str("provider", p?.provider ?? ""),
    fabricIface: m.str("fabric_iface", p?.fabricIface ?? ""),
    fabricIfacePort: m.int("fabric_iface_port", p?.fabricIfacePort ?? 0, { min: 0, max: 65535 }),
    crtTimeout: m.int("crt_timeout", p?.crtTimeout ?? 0, { min: 0, max: U32 }),
    disableSrx: m.bool("disable_srx", p?.disableSrx ?? false),
    fabricAuthKey: m.str("fabric_auth_key", p?.fabricAuthKey ?? ""),
    secondaryProviderEndpoints: m.has("secondary_provider_endpoints")
      ? m.intList("secondary_provider_endpoints")
      : [...(p?.secondaryProviderEndpoints ?? [])],
    bypassHealthChk: m.bool("bypass_health_chk", p?.bypassHealthChk ?? false),
  };
}

/**
 * True when an absolute path has `.` or `..` components. After a symlink the kernel applies
 * `..` to the link's target (`/x/link/..` is not `/x`), so such a path may land anywhere.
 */
function dotParts(path: string): boolean {
  return path.split("/").some((p) => p === "." || p === "..");
}

const DOT_FIX = "write the path without . or .. components (the directory it is meant to be)";

function readScmTier(m: MapReader, tier: number, cls: "ram" | "dcpm"): ScmTier {
  const scmMount = m.str("scm_mount", "");
  if (scmMount === "") {
    m.problem(undefined, FaultCode.ServerBadConfig, `${m.where}: no scm_mount set`);
  } else if (!scmMount.startsWith("/")) {
    m.problem(
      "scm_mount",
      FaultCode.ServerBadConfig,
      `${m.path("scm_mount")}: "${scmMount}" is not an absolute path`,
      "use an absolute mount point such as /mnt/daos0",
    );
  } else if (systemPathReason(scmMount) !== null) {
    m.problem(
      "scm_mount",
      FaultCode.StoragePathAccessDenied,
      `${m.path("scm_mount")}: "${scmMount}" is a system path (${
        systemPathReason(scmMount)
      }); format would mount over it`,
      "use a dedicated mount point such as /mnt/daos0",
    );
  } else if (dotParts(scmMount)) {
    m.problem(
      "scm_mount",
      FaultCode.ServerBadConfig,
      `${m.path("scm_mount")}: "${scmMount}" has "." or ".." components`,
      DOT_FIX,
    );
  }
  const scmList = m.strList("scm_list");
  const scmSize = m.int("scm_size", 0, { min: 0, max: 1 << 20 });
  const huge = m.triBool("scm_hugepages_disabled");
  if (cls === "dcpm") {
    if (scmList.length === 0) {
      m.problem(
        undefined,
        FaultCode.ServerBadConfig,
        `${m.where}: scm_list must be set when class is dcpm`,
      );
    } else if (scmList.length > 1) {
      m.problem(
        "scm_list",
        FaultCode.ServerBadConfig,
        `${m.where}: scm_list may have at most 1 devices`,
      );
    }
    if (m.has("scm_size")) {
      m.problem(
        "scm_size",
        FaultCode.ServerBadConfig,
        `${m.where}: scm_size may not be set when class is dcpm`,
      );
    }
  } else {
    if (m.has("scm_list")) {
      m.problem(
        "scm_list",
        FaultCode.ServerBadConfig,
        `${m.where}: scm_list may not be set when class is ram`,
      );
    }
    if (scmSize > 0 && scmSize < 4) {
      m.problem(
        "scm_size",
        FaultCode.ServerConfigRamdiskUnderMinMem,
        `configured ram-disk size ${scmSize}.0 GiB is lower than the minimum (4.0 GiB) required for SCM`,
        "increase scm_size to at least 4 GiB or remove it to use the auto-size rule",
      );
    }
  }
  return { tier, class: cls, scmMount, scmList, scmSize, scmHugepagesDisabled: huge };
}

const PCI_RE = /^[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]$/;

/** True for a PCI (or VMD) address `DDDD:BB:DD.F`. */
export function isPciAddress(s: string): boolean {
  return PCI_RE.test(s);
}

function readBdevTier(m: MapReader, tier: number, cls: BdevClass): BdevTier {
  const bdevList = m.strList("bdev_list");
  // bdev_size is GiB; a file needs at least 1, other classes ignore it (0 allowed).
  const bdevSize = m.int("bdev_size", 0, { min: cls === "file" ? 1 : 0, max: 1 << 30 });
  const bdevNumber = m.int("bdev_number", 0, { min: 0, max: I32 });
  const busid = m.has("bdev_busid_range") ? m.str("bdev_busid_range", "") : null;
  const rolesRaw = m.strList("bdev_roles");
  const at = (k: string) => k;
  if (bdevList.length === 0) {
    m.problem(
      m.has("bdev_list") ? "bdev_list" : undefined,
      FaultCode.ServerBadConfig,
      `${m.where}: class ${cls} requires non-empty bdev_list`,
    );
  }
  const seen = new Set<string>();
  for (const d of bdevList) {
    if (seen.has(d)) {
      m.problem(
        at("bdev_list"),
        FaultCode.ServerBadConfig,
        `${m.path("bdev_list")}: bdev_list contains duplicate "${d}"`,
        "list each device once",
      );
    }
    seen.add(d);
  }
  const pci = bdevList.filter(isPciAddress).length;
  if (pci > 0 && pci < bdevList.length) {
    m.problem(
      "bdev_list",
      FaultCode.ServerBadConfig,
      `${m.path("bdev_list")}: mixing PCI and non-PCI device addresses is unsupported`,
    );
  }
  if (cls === "nvme" && bdevList.length > 0 && pci !== bdevList.length) {
    m.problem(
      "bdev_list",
      FaultCode.ServerBadConfig,
      `${m.where}: class nvme requires valid PCI addresses in bdev_list`,
      "use addresses of the form 0000:81:00.0",
    );
  }
  if (cls === "file") {
    // A present but bad bdev_size was reported by the range check above.
    if (!m.has("bdev_size")) {
      m.problem(
        undefined,
        FaultCode.ServerBadConfig,
        `${m.where}: class file requires non-zero bdev_size`,
        "set bdev_size to the file size in GiB, e.g. 16",
      );
    }
    for (const f of bdevList) {
      const sys = systemPathReason(f);
      if (f.startsWith("/") && sys !== null) {
        m.problem(
          "bdev_list",
          FaultCode.StoragePathAccessDenied,
          `${
            m.path("bdev_list")
          }: file "${f}" is a system path (${sys}); format would overwrite it`,
          "list files in a dedicated directory such as /var/daos",
        );
      }
    }
    for (const f of bdevList) {
      if (f.startsWith("/") && systemPathReason(f) === null && dotParts(f)) {
        m.problem(
          "bdev_list",
          FaultCode.ServerBadConfig,
          `${m.path("bdev_list")}: file "${f}" has "." or ".." components`,
          DOT_FIX,
        );
      }
      if (!f.startsWith("/")) {
        m.problem(
          "bdev_list",
          FaultCode.ServerBadConfig,
          `${m.path("bdev_list")}: file "${f}" is not an absolute path`,
        );
      }
    }
  }
  if (cls === "kdev") {
    for (const f of bdevList) {
      if (!f.startsWith("/dev/")) {
        m.problem(
          "bdev_list",
          FaultCode.ServerBadConfig,
          `${m.path("bdev_list")}: kdev "${f}" is not a /dev path`,
        );
      }
    }
  }
  if (busid !== null && parseBusidRange(busid) === null) {
    m.problem(
      "bdev_busid_range",
      FaultCode.ServerBadConfig,
      `${m.path("bdev_busid_range")}: invalid busid range "${busid}"`,
      "write lo-hi with 8-bit bounds, lo <= hi, e.g. 0x80-0x8f",
    );
  }
  let roleBits = 0;
  for (const r of rolesRaw) {
    const key = r.toLowerCase();
    if (key === "na") continue;
    if (key in ROLE_BITS) roleBits |= ROLE_BITS[key as keyof typeof ROLE_BITS];
    else {m.problem(
        "bdev_roles",
        FaultCode.BdevConfigOptFlagUnknown,
        `unknown option flag given: "${r}"`,
        "use data, meta or wal",
      );}
  }
  return {
    tier,
    class: cls,
    bdevList,
    bdevSize: Math.max(0, bdevSize),
    bdevNumber,
    bdevBusidRange: busid,
    bdevRoles: rolesRaw,
    roleBits,
  };
}

/** Parses `lo-hi` (hex with 0x or decimal, 8-bit, lo <= hi); null when invalid. */
export function parseBusidRange(s: string): [number, number] | null {
  const parts = s.split("-").map((x) => x.trim());
  if (parts.length !== 2) return null;
  const n = parts.map((
    x,
  ) => (/^0x[0-9a-f]+$/i.test(x) ? parseInt(x, 16) : /^\d+$/.test(x) ? parseInt(x, 10) : NaN));
  if (n.some((v) => Number.isNaN(v) || v > 255) || n[0] > n[1]) return null;
  return [n[0], n[1]];
}

/** Readers of one engine's map and of its tier maps (indexed by tier), for located messages. */
export interface EngineLoc {
  engine: MapReader;
  tiers: MapReader[];
}

function readStorage(m: MapReader, e: EngineConfig, loc: EngineLoc): void {
  const items = m.seq("storage");
  if (items === null) return;
  let tier = 0;
  items.forEach((item, i) => {
    if (item === null || (isScalar(item) && item.value === null)) return; // null entries skipped
    const where = `${m.path("storage")}[${i}]`;
    const t = itemMap(m.ctx, item, where);
    if (!t) return;
    loc.tiers[tier] = t;
    const cls = t.str("class", "");
    if (cls === "ram" || cls === "dcpm") {
      const scm = readScmTier(t, tier, cls);
      if (tier !== 0) {
        t.problem(
          "class",
          FaultCode.ServerBadConfig,
          `tier ${tier} failed validation: first storage tier is not scm`,
          "put the single ram/dcpm tier first in storage",
        );
      } else e.scm = scm;
    } else if (cls === "nvme" || cls === "file" || cls === "kdev") {
      const b = readBdevTier(t, tier, cls);
      if (tier === 0) {
        t.problem(
          "class",
          FaultCode.ServerBadConfig,
          `${where}: first storage tier is not scm`,
          "put a ram or dcpm tier first in storage",
        );
      }
      e.bdevs.push(b);
    } else if (cls === "") {
      t.problem(
        undefined,
        FaultCode.ServerBadConfig,
        `${where}: storage tier has no class`,
        "set class to one of dcpm, ram, nvme, file, kdev",
      );
    } else {
      t.problem(
        "class",
        FaultCode.ServerBadConfig,
        `${where}: unsupported storage class "${cls}"`,
        cls === "malloc"
          ? "class malloc was removed (pre-2.0); use class file with bdev_list and bdev_size"
          : "use one of dcpm, ram, nvme, file, kdev",
      );
    }
    // Keys of an unknown class are not judged: the class error is the one to fix.
    if (["ram", "dcpm", "nvme", "file", "kdev"].includes(cls)) t.finish();
    tier++;
  });
}

function readAcceleration(m: MapReader): AccelerationConfig | null {
  const a = m.map("acceleration");
  if (!a) return null;
  const engine = a.str("engine", "none");
  const opts = a.strList("options");
  a.finish();
  if (engine !== "none" && engine !== "spdk" && engine !== "dml") {
    a.problem(
      "engine",
      FaultCode.BdevAccelEngineUnknown,
      `unknown acceleration engine "${engine}"`,
      "use none, spdk or dml",
    );
    return null;
  }
  const options: Array<"move" | "crc"> = [];
  for (const o of opts) {
    if (o === "move" || o === "crc") options.push(o);
    else {a.problem(
        "options",
        FaultCode.BdevConfigOptFlagUnknown,
        `unknown option flag given: "${o}"`,
        "use move or crc",
      );}
  }
  if (engine !== "none" && options.length === 0) options.push("move", "crc");
  return { engine, options };
}

/** Reads the strict sub-map `key` of `m` with `read` (unknown keys reported); null when absent. */
function readSection<T>(m: MapReader, key: string, read: (s: MapReader) => T): T | null {
  const s = m.map(key);
  if (!s) return null;
  const r = read(s);
  s.finish();
  return r;
}

function readSpdkRpc(m: MapReader): SpdkRpcServerConfig | null {
  return readSection(m, "spdk_rpc_server", (s) => ({
    enable: s.bool("enable", false),
    sockAddr: s.str("sock_addr", ""),
  }));
}

function readAutoFaulty(m: MapReader): BdevAutoFaultyConfig | null {
  return readSection(m, "bdev_auto_faulty", (s) => ({
    enable: s.bool("enable", true),
    maxIoErrs: s.int("max_io_errs", 10, { min: 0, max: U32 }),
    maxCsumErrs: s.int("max_csum_errs", U32, { min: 0, max: U32 }),
  }));
}

function readIobuf(m: MapReader): SpdkIobufConfig | null {
  return readSection(m, "spdk_iobuf", (s) => ({
    smallPoolCount: s.int("small_pool_count", 0, { min: 0, max: U32 }),
    largePoolCount: s.int("large_pool_count", 0, { min: 0, max: U32 }),
  }));
}

function readEngine(m: MapReader, index: number, top: FabricConfig, loc: EngineLoc): EngineConfig {
  const e: EngineConfig = {
    index,
    targets: m.int("targets", 0, { min: 1, max: 1024 }),
    nrXsHelpers: m.int("nr_xs_helpers", 0, { min: 0, max: 1024 }),
    firstCore: m.has("first_core") ? m.int("first_core", 0, { min: 0, max: 65535 }) : null,
    pinnedNumaNode: m.has("pinned_numa_node")
      ? m.int("pinned_numa_node", 0, { min: 0, max: 65535 })
      : null,
    fabric: readFabric(m, top),
    logMask: m.str("log_mask", ""),
    logFile: m.str("log_file", ""),
    envVars: m.strList("env_vars"),
    envPassThrough: m.strList("env_pass_through"),
    scm: null,
    bdevs: [],
    acceleration: readAcceleration(m),
    spdkRpcServer: readSpdkRpc(m),
    bdevAutoFaulty: readAutoFaulty(m),
    spdkIobuf: readIobuf(m),
    modules: m.str("modules", ""),
    enableHotplug: true,
    systemName: "",
    controlMetadataPath: "",
  };
  if (!m.has("storage")) {
    m.problem(
      undefined,
      FaultCode.ServerBadConfig,
      `${m.where}: no storage tiers configured`,
      "add a storage list with a ram or dcpm tier first",
    );
  }
  readStorage(m, e, loc);
  m.finish();
  return e;
}

/** Reads the top-level map into a ServerConfig (defaults applied; problems recorded). */
export function readServerConfig(
  ctx: ReadContext,
  top: MapReader,
  path: string,
  locs: EngineLoc[],
): ServerConfig {
  const notices: string[] = [];
  const fabric = readFabric(top, null);
  const tc = top.map("transport_config");
  const transportConfig = {
    allowInsecure: tc?.bool("allow_insecure", false) ?? false,
    clientCertDir: tc?.str("client_cert_dir", `${DEFAULTS.certDir}/clients`) ??
      `${DEFAULTS.certDir}/clients`,
    caCert: tc?.str("ca_cert", `${DEFAULTS.certDir}/daosCA.crt`) ??
      `${DEFAULTS.certDir}/daosCA.crt`,
    cert: tc?.str("cert", `${DEFAULTS.certDir}/server.crt`) ?? `${DEFAULTS.certDir}/server.crt`,
    key: tc?.str("key", `${DEFAULTS.certDir}/server.key`) ?? `${DEFAULTS.certDir}/server.key`,
  };
  tc?.finish();

  const cm = top.map("control_metadata");
  const controlMetadata = {
    path: cm?.str("path", "") ?? "",
    device: cm?.str("device", "") ?? "",
    allowSpdkConfOverride: cm?.bool("allow_spdk_conf_override", false) ?? false,
  };
  // The device is mounted at path: never over a system directory.
  const cmSys = controlMetadata.device !== "" && controlMetadata.path.startsWith("/")
    ? systemPathReason(controlMetadata.path)
    : null;
  if (cm && cmSys === null && dotParts(controlMetadata.path)) {
    cm.problem(
      "path",
      FaultCode.ServerBadConfig,
      `control_metadata.path: "${controlMetadata.path}" has "." or ".." components`,
      DOT_FIX,
    );
  }
  if (cm && controlMetadata.path !== "" && !controlMetadata.path.startsWith("/")) {
    // Relative to daos_server's working directory: a different place after every restart.
    cm.problem(
      "path",
      FaultCode.ServerBadConfig,
      `control_metadata.path: "${controlMetadata.path}" is not an absolute path`,
      "set control_metadata.path to an absolute directory such as /var/daos/config",
    );
  }
  if (cm && cmSys !== null) {
    cm.problem(
      "path",
      FaultCode.StoragePathAccessDenied,
      `control_metadata.path: "${controlMetadata.path}" is a system path (${cmSys}); the ` +
        "device would be mounted over it",
      "set control_metadata.path to a dedicated directory such as /var/daos/config",
    );
  }
  cm?.finish();

  const sc = top.map("support_config");
  const supportConfig = { fileTransferExec: sc?.str("file_transfer_exec", "") ?? "" };
  sc?.finish();

  const mgmtSvcDb = readMgmtSvcDb(top);

  const enableHotplug = top.triBool("enable_hotplug");
  const disableHotplugRaw = top.triBool("disable_hotplug");
  let disableHotplug = disableHotplugRaw ?? false;
  if (enableHotplug !== null) {
    if (disableHotplugRaw !== null) {
      top.problem(
        "enable_hotplug",
        FaultCode.ServerConfigEnableHotplugDeprecated,
        "enable_hotplug is deprecated; please use disable_hotplug instead",
        "remove enable_hotplug and keep disable_hotplug",
      );
    } else {
      disableHotplug = !enableHotplug;
      notices.push(
        `enable_hotplug is deprecated, converted to disable_hotplug: ${disableHotplug}; please use disable_hotplug`,
      );
    }
  }

  const cfg: ServerConfig = {
    path,
    name: top.str("name", DEFAULTS.name),
    mgmtSvcReplicas: top.strList("mgmt_svc_replicas"),
    port: top.int("port", DEFAULTS.port, {
      min: 1,
      max: 65535,
      code: FaultCode.ServerConfigBadControlPort,
    }),
    controlIface: top.str("control_iface", ""),
    controlAddress: top.str("control_address", ""),
    transportConfig,
    fabric,
    engines: [],
    bdevExclude: top.strList("bdev_exclude"),
    disableVfio: top.bool("disable_vfio", false),
    disableVmd: top.bool("disable_vmd", false),
    disableHotplug,
    nrHugepages: top.int("nr_hugepages", 0, {
      min: 0,
      max: I32,
      code: FaultCode.ServerConfigNrHugepagesOutOfRange,
    }),
    disableHugepages: top.bool("disable_hugepages", false),
    allowNumaImbalance: top.bool("allow_numa_imbalance", false),
    allowThp: top.bool("allow_thp", false),
    systemRamReserved: top.int("system_ram_reserved", DEFAULTS.systemRamReserved, {
      min: 1,
      max: 1 << 20,
      lowCode: FaultCode.ServerConfigSysRsvdZero,
    }),
    kernelConfigPath: top.str("kernel_config_path", ""),
    controlLogMask: top.str("control_log_mask", DEFAULTS.controlLogMask),
    controlLogFile: top.str("control_log_file", ""),
    controlLogJson: top.bool("control_log_json", false),
    helperLogFile: top.str("helper_log_file", ""),
    faultPath: top.str("fault_path", ""),
    faultCb: top.str("fault_cb", ""),
    telemetryPort: top.int("telemetry_port", 0, {
      min: 0,
      max: 65535,
      code: FaultCode.ServerConfigBadTelemetryPort,
    }),
    coreDumpFilter: top.int("core_dump_filter", DEFAULTS.coreDumpFilter, { min: 0, max: 255 }),
    clientEnvVars: top.strList("client_env_vars"),
    socketDir: top.str("socket_dir", DEFAULTS.socketDir),
    controlMetadata,
    disableEngineAutoRestart: top.bool("disable_engine_auto_restart", false),
    engineAutoRestartMinDelay: top.int("engine_auto_restart_min_delay", 0, {
      min: Number.MIN_SAFE_INTEGER,
      max: I32,
    }),
    hyperthreads: top.bool("hyperthreads", false),
    supportConfig,
    mgmtSvcDb,
    notices,
  };
  top.str("firmware_helper_log_file", ""); // deprecated (3.0): accepted and ignored

  const accessPoints = top.has("access_points") ? top.strList("access_points") : null;
  if (accessPoints !== null) {
    if (top.has("mgmt_svc_replicas")) {
      top.problem(
        "access_points",
        FaultCode.ServerBadConfig,
        "access_points is deprecated; please use mgmt_svc_replicas instead",
        "remove access_points and keep mgmt_svc_replicas",
      );
    } else {
      cfg.mgmtSvcReplicas = accessPoints;
      notices.push("access_points is deprecated; please use mgmt_svc_replicas instead");
    }
  }

  const all = top.seq("engines") ?? [];
  // A few aliases (engines: [*e, *e, ...]) in a 1 MiB file make 100k engines, and validation
  // of each took minutes. Real hosts run a handful (one or two per NUMA node).
  if (all.length > MAX_ENGINES) {
    top.problem(
      "engines",
      FaultCode.ServerBadConfig,
      `engines lists ${all.length} engines, more than the ${MAX_ENGINES} supported (only ` +
        `the first ${MAX_ENGINES} were checked)`,
      "configure one engine per NUMA node or socket, e.g. 2",
    );
  }
  const items = all.slice(0, MAX_ENGINES);
  items.forEach((item, i) => {
    const m = itemMap(ctx, item, `engines[${i}]`);
    if (!m) return;
    const loc: EngineLoc = { engine: m, tiers: [] };
    locs.push(loc);
    cfg.engines.push(readEngine(m, cfg.engines.length, fabric, loc));
  });
  const mask = cfg.controlLogMask.toUpperCase();
  if (!LOG_LEVELS.includes(mask)) {
    top.problem(
      "control_log_mask",
      FaultCode.ServerBadConfig,
      `"${cfg.controlLogMask}" is not a valid log level`,
      `use one of ${LOG_LEVELS.join(", ")}`,
    );
  } else cfg.controlLogMask = mask;
  top.finish();
  return cfg;
}

/** Most engines one daos_server may run (ours: DAOS sets no limit). */
export const MAX_ENGINES = 64;

export { FABRIC_KEYS };
