/**
 * Cross-field and multi-engine rules of daos_server.yml (server.md §1.2–§1.9), run offline
 * (no access to this host). Every violation is recorded, not only the first.
 */
import { FaultCode } from "../lib/fault.ts";
import { systemNameProblem } from "../lib/system_name.ts";
import type { EngineLoc } from "./schema.ts";
import { faultPathProblem } from "./fault_domain.ts";
import { MODULE_LIST_FIX, moduleListProblem } from "./engine_modules.ts";
import { storageAreas, storageOverlaps } from "./storage_overlap.ts";
import type { MapReader } from "./yaml_reader.ts";
import type { EngineConfig, ServerConfig } from "./types.ts";
import {
  debugStreamsError,
  LOG_STREAMS,
  LOG_SUBSYSTEMS,
  logMaskError,
  subsystemsError,
} from "./log_masks.ts";

/** Per-engine counts every engine must share with engine 0: key, fault, value. */
const SAME_COUNTS: ReadonlyArray<readonly [string, number, (e: EngineConfig) => number]> = [
  ["targets", FaultCode.ServerConfigTargetCountMismatch, (e) => e.targets],
  ["nr_xs_helpers", FaultCode.ServerConfigHelperStreamCountMismatch, (e) => e.nrXsHelpers],
];

/** Splits `host[:port]` into parts; port "" when absent. IPv6 in brackets is accepted. */
function splitHostPort(s: string): { host: string; port: string } {
  const m = /^\[([^\]]+)\](?::(.*))?$/.exec(s);
  if (m) return { host: m[1], port: m[2] ?? "" };
  const i = s.lastIndexOf(":");
  if (i < 0) return { host: s, port: "" };
  return { host: s.slice(0, i), port: s.slice(i + 1) };
}

function validateReplicas(cfg: ServerConfig, top: MapReader): void {
  const key = top.has("mgmt_svc_replicas") ? "mgmt_svc_replicas" : "access_points";
  const out: string[] = [];
  for (const r of cfg.mgmtSvcReplicas) {
    const { host, port } = splitHostPort(r.trim());
    if (host === "") {
      top.problem(
        key,
        FaultCode.ServerConfigBadMgmtSvcReplicas,
        `invalid list of MS replicas in configuration: empty host in "${r}"`,
        "list replicas as host[:port]",
      );
      continue;
    }
    let p = cfg.port;
    if (port !== "") {
      p = /^\d+$/.test(port) ? Number(port) : NaN;
      if (!(p > 0 && p <= 65535)) {
        top.problem(
          key,
          FaultCode.ServerConfigBadControlPort,
          `invalid control port "${port}" in MS replica "${r}"`,
          "use a port between 1 and 65535",
        );
        continue;
      }
    }
    const norm = `${host}:${p}`;
    if (out.includes(norm)) {
      top.problem(
        key,
        FaultCode.ServerConfigBadMgmtSvcReplicas,
        `invalid list of MS replicas in configuration: duplicate entry "${norm}"`,
        "list each MS replica once",
      );
      continue;
    }
    out.push(norm);
  }
  if (out.length === 0 && cfg.mgmtSvcReplicas.length === 0) out.push(`localhost:${cfg.port}`);
  cfg.mgmtSvcReplicas = out;
  if (cfg.engines.length > 0 && out.length % 2 === 0) {
    top.problem(
      key,
      FaultCode.ServerConfigEvenMgmtSvcReplicas,
      "non-odd number of MS replicas",
      "configure an odd number (1, 3 or 5) of mgmt_svc_replicas",
    );
  } else if (cfg.engines.length > 0 && out.length === 1) {
    cfg.notices.push("only 1 MS replica configured: no redundancy");
  }
}

function validateFaultPath(cfg: ServerConfig, top: MapReader): void {
  if (cfg.faultPath !== "" && cfg.faultCb !== "") {
    top.problem(
      "fault_cb",
      FaultCode.ServerConfigBothFaultPathAndCb,
      "only one of fault_path and fault_cb may be set",
      "remove fault_path or fault_cb",
    );
  }
  if (cfg.faultPath === "") return;
  const bad = faultPathProblem(cfg.faultPath);
  if (bad !== null) top.problem("fault_path", bad.code, bad.message, bad.resolution);
}

function validateLogMask(e: EngineConfig, m: MapReader): void {
  const err = logMaskError(e.logMask);
  if (err !== null) {
    m.problem(
      "log_mask",
      FaultCode.ServerBadConfig,
      `I/O Engine ${e.index} failed config validation: log_mask: ${err}`,
      "write log_mask as LEVEL[,SUBSYS=LEVEL...], e.g. ERR,MGMT=DEBUG",
    );
  }
  // D_LOG_MASK, DD_MASK and DD_SUBSYS in env_vars reach the engine unchanged (DD_SUBSYS folded
  // into D_LOG_MASK), so a bad name would only show up in the engine's own log.
  const checks: Array<[string, (v: string) => string | null, string]> = [
    ["D_LOG_MASK", logMaskError, "write LEVEL[,SUBSYS=LEVEL...]"],
    ["DD_MASK", debugStreamsError, `use names from: ${LOG_STREAMS.join(",")}`],
    ["DD_SUBSYS", subsystemsError, `use names from: ${LOG_SUBSYSTEMS.join(",")}`],
  ];
  for (const [key, check, fix] of checks) {
    const v = envValue(e.envVars, key);
    const err = v === undefined ? null : check(v);
    if (err !== null) {
      m.problem(
        "env_vars",
        FaultCode.ServerBadConfig,
        `I/O Engine ${e.index} failed config validation: env_vars ${key}: ${err}`,
        fix,
      );
    }
  }
}

/** Value of `KEY=` in an env list, or undefined. */
function envValue(vars: readonly string[], key: string): string | undefined {
  const v = vars.find((x) => x.startsWith(`${key}=`));
  return v === undefined ? undefined : v.slice(key.length + 1);
}

/** Environment fix-up rules that can fail (server.md §1.6). */
function validateEngineEnv(e: EngineConfig, m: MapReader, mdOnSsd: boolean): void {
  const pmem = envValue(e.envVars, "PMEMOBJ_CONF");
  if (e.scm?.class !== "dcpm" && pmem !== undefined && /sds\.at_create=1/.test(pmem)) {
    m.problem(
      "env_vars",
      FaultCode.ServerBadConfig,
      `I/O Engine ${e.index} failed config validation: PMEMOBJ_CONF sds.at_create=1 is not allowed when SCM class is not dcpm`,
      "remove sds.at_create=1 from PMEMOBJ_CONF",
    );
  }
  let minStack = 0;
  if (e.scm?.class === "dcpm") minStack = 20480;
  if (mdOnSsd) minStack = Math.max(minStack, 24576);
  if (e.fabric.provider.startsWith("ucx+")) minStack = Math.max(minStack, 32768);
  const stack = envValue(e.envVars, "ABT_THREAD_STACKSIZE");
  if (stack !== undefined && minStack > 0 && !(Number(stack) >= minStack)) {
    m.problem(
      "env_vars",
      FaultCode.ServerBadConfig,
      `I/O Engine ${e.index} failed config validation: env_var ABT_THREAD_STACKSIZE should be >= ${minStack} but is set to ${stack}`,
      `set ABT_THREAD_STACKSIZE=${minStack} or remove it`,
    );
  }
  const srx = envValue(e.envVars, "FI_OFI_RXM_USE_SRX");
  // disable_srx (engine or inherited) means FI_OFI_RXM_USE_SRX=0; an explicit 1 contradicts it.
  if (srx !== undefined && e.fabric.disableSrx && srx !== "0") {
    m.problem(
      "env_vars",
      FaultCode.ServerBadConfig,
      `I/O Engine ${e.index} failed config validation: FI_OFI_RXM_USE_SRX=${srx} conflicts with disable_srx: ${e.fabric.disableSrx}`,
      "remove FI_OFI_RXM_USE_SRX from env_vars and use disable_srx",
    );
  }
  if (e.envPassThrough.includes("FI_OFI_RXM_USE_SRX")) {
    m.problem(
      "env_pass_through",
      FaultCode.ServerBadConfig,
      `I/O Engine ${e.index} failed config validation: FI_OFI_RXM_USE_SRX may not be passed through`,
      "use disable_srx instead",
    );
  }
}

function validateEngine(cfg: ServerConfig, e: EngineConfig, loc: EngineLoc): void {
  const m = loc.engine;
  const fail = (key: string | undefined, code: number, msg: string, res = "") =>
    m.problem(key, code, `I/O Engine ${e.index} failed config validation: ${msg}`, res);
  // A present but bad targets value was reported by its range check (1 - 1024).
  if (e.targets === 0 && !m.has("targets")) {
    fail(
      "targets",
      FaultCode.ServerBadConfig,
      "target count must be nonzero",
      "set targets to the number of VOS targets, e.g. 16",
    );
  }
  if (e.fabric.fabricIface === "") {
    fail(
      undefined,
      FaultCode.ServerBadConfig,
      "fabric_iface not set",
      "set fabric_iface (per engine or at top level)",
    );
  }
  if (e.fabric.fabricIfacePort === 0) {
    fail(
      undefined,
      FaultCode.ServerBadConfig,
      "fabric_iface_port not set",
      "set fabric_iface_port, e.g. 31416",
    );
  }
  if (e.fabric.provider === "") {
    m.problem(
      undefined,
      FaultCode.ServerConfigBadProvider,
      "provider not specified in server configuration",
      "set provider, e.g. ofi+tcp",
    );
  }
  if (e.firstCore !== null && e.firstCore !== 0 && e.pinnedNumaNode !== null) {
    fail(
      "pinned_numa_node",
      FaultCode.ServerBadConfig,
      "cannot specify both pinned_numa_node and first_core",
    );
  }
  validateLogMask(e, m);
  const modules = moduleListProblem(e.modules);
  if (modules !== null) {
    m.problem(
      "modules",
      FaultCode.ServerBadConfig,
      `I/O Engine ${e.index} failed config validation: modules: ${modules}`,
      MODULE_LIST_FIX,
    );
  }
  for (const v of e.envVars) {
    if (!/^[^=\s]+=/.test(v)) {
      fail(
        "env_vars",
        FaultCode.ServerBadConfig,
        `invalid env_vars entry "${v}"`,
        "write KEY=VALUE",
      );
    }
  }
  validateEngineEnv(e, m, cfg.controlMetadata.path !== "");
  if (!e.scm && loc.tiers.length > 0) {
    fail(
      "storage",
      FaultCode.ScmConfigTierMissing,
      "missing SCM storage tier in configuration",
      "add a ram or dcpm tier as storage[0]",
    );
  } else if (!e.scm && m.has("storage")) {
    fail(
      "storage",
      FaultCode.ServerBadConfig,
      "no storage tiers configured",
      "add a storage list with a ram or dcpm tier first",
    );
  }
  const classes = new Set(e.bdevs.map((b) => b.class));
  if (classes.has("nvme") && (classes.has("file") || classes.has("kdev"))) {
    fail(
      "storage",
      FaultCode.BdevConfigTierTypeMismatch,
      "bdev tiers contain a mix of emulated and non-emulated NVMe types",
      "use only nvme, or only file/kdev, bdev tiers in one engine",
    );
  }
  // MD-on-SSD roles (§1.5, §1.7)
  const withRoles = e.bdevs.filter((b) => b.roleBits !== 0);
  const cmPath = cfg.controlMetadata.path;
  if (withRoles.length > 0 && withRoles.length !== e.bdevs.length) {
    fail(
      "storage",
      FaultCode.BdevConfigRolesMissing,
      "MD-on-SSD roles must be set on all or none of the bdev tiers",
    );
  } else if (withRoles.length === 0) {
    if (e.bdevs.length > 1) {
      fail(
        "storage",
        FaultCode.BdevConfigMultiTierWithoutRoles,
        "multiple bdev tiers require MD-on-SSD roles",
      );
    }
    if (cmPath !== "") {
      m.problem(
        undefined,
        FaultCode.BdevConfigControlMetadataNoRoles,
        "using 'control_metadata.path' requires MD-on-SSD roles",
        "set bdev_roles on every bdev tier",
      );
    }
  } else {
    if (e.scm?.class === "dcpm") {
      fail(
        "storage",
        FaultCode.BdevConfigRolesWithDCPM,
        "MD-on-SSD roles are not supported with class dcpm",
        "use class ram for the SCM tier",
      );
    }
    if (e.bdevs.length > 3) {
      fail(
        "storage",
        FaultCode.BdevConfigBadNrTiersWithRoles,
        "with MD-on-SSD roles 1 to 3 bdev tiers are allowed",
      );
    }
    for (const [name, bit] of [["wal", 4], ["meta", 2], ["data", 1]] as const) {
      const n = e.bdevs.filter((b) => (b.roleBits & bit) !== 0).length;
      if (n !== 1) {
        fail("storage", FaultCode.BdevConfigRolesBadNr, `found ${n} ${name} tiers, wanted 1`);
      }
    }
    for (const b of e.bdevs) {
      if ((b.roleBits & 4) && (b.roleBits & 1) && !(b.roleBits & 2)) {
        loc.tiers[b.tier]?.problem(
          "bdev_roles",
          FaultCode.BdevConfigRolesWalDataNoMeta,
          `tier ${b.tier} failed validation: a bdev tier with WAL and Data roles must also have the Meta role`,
        );
      }
    }
    if (cmPath === "") {
      m.problem(
        undefined,
        FaultCode.BdevConfigRolesNoControlMetadata,
        "MD-on-SSD roles require 'control_metadata.path' to be set",
        "set control_metadata.path",
      );
    }
  }
  if (cfg.disableHugepages && classes.has("nvme")) {
    m.problem(
      "storage",
      FaultCode.ServerConfigHugepagesDisabledWithNvmeBdevs,
      "hugepages cannot be disabled if NVMe SSDs are configured",
      "remove disable_hugepages or the nvme tiers",
    );
  }
  for (const b of e.bdevs) {
    const clash = b.bdevList.filter((d) => cfg.bdevExclude.includes(d));
    if (b.class === "nvme" && clash.length > 0) {
      loc.tiers[b.tier]?.problem(
        "bdev_list",
        FaultCode.ServerConfigBdevExcludeClash,
        `bdev_exclude entries ${clash.join(",")} clash with engine ${e.index} bdev_list`,
        "remove the device from bdev_exclude or from bdev_list",
      );
    }
  }
}

function uniqueAcrossEngines(
  cfg: ServerConfig,
  locs: EngineLoc[],
  key: string,
  code: number,
  values: (e: EngineConfig) => string[],
  what: string,
): void {
  const seen = new Map<string, number>();
  for (const e of cfg.engines) {
    for (const v of values(e)) {
      if (v === "") continue;
      const prev = seen.get(v);
      if (prev !== undefined && prev !== e.index) {
        locs[e.index].engine.problem(
          key,
          code,
          `${what} "${v}" of engine ${e.index} is also used by engine ${prev}`,
          `give every engine its own ${key}`,
        );
      } else seen.set(v, e.index);
    }
  }
}

function validateMultiEngine(cfg: ServerConfig, locs: EngineLoc[]): void {
  const first = cfg.engines[0];
  uniqueAcrossEngines(
    cfg,
    locs,
    "fabric_iface_port",
    FaultCode.ServerConfigDuplicateFabric,
    (e) => [`${e.fabric.provider} ${e.fabric.fabricIface} ${e.fabric.fabricIfacePort}`],
    "fabric (provider, iface, port)",
  );
  uniqueAcrossEngines(
    cfg,
    locs,
    "log_file",
    FaultCode.ServerConfigDuplicateLogFile,
    (e) => [e.logFile],
    "log_file",
  );
  uniqueAcrossEngines(
    cfg,
    locs,
    "storage",
    FaultCode.ServerConfigDuplicateScmDeviceList,
    (e) => e.scm?.scmList ?? [],
    "scm_list entry",
  );
  // kdev/nvme entries are device names: shared only when identical (DAOS's rule).
  uniqueAcrossEngines(
    cfg,
    locs,
    "storage",
    FaultCode.ServerConfigOverlappingBdevDeviceList,
    (e) => e.bdevs.filter((b) => b.class !== "file").flatMap((b) => b.bdevList),
    "bdev_list entry",
  );
  // NUMA balance (728), checkable offline when engines with bdevs are pinned.
  const pinned = cfg.engines.filter((e) => e.bdevs.length > 0 && e.pinnedNumaNode !== null);
  if (!cfg.allowNumaImbalance && pinned.length > 1) {
    const per = new Map<number, number>();
    for (const e of pinned) per.set(e.pinnedNumaNode!, (per.get(e.pinnedNumaNode!) ?? 0) + 1);
    if (new Set(per.values()).size > 1) {
      const map = [...per.entries()].sort((a, b) => a[0] - b[0]).map(([n, c]) => `${n}:${c}`);
      locs[pinned[pinned.length - 1].index].engine.problem(
        "pinned_numa_node",
        FaultCode.ServerConfigEngineNUMAImbalance,
        `uneven distribution of engines across NUMA nodes map[${map.join(" ")}]`,
        "pin the same number of engines to each NUMA node, or set allow_numa_imbalance: true",
      );
    }
  }
  const srx = cfg.engines.map((e) => envValue(e.envVars, "FI_OFI_RXM_USE_SRX"));
  for (const e of cfg.engines.slice(1)) {
    if (srx[e.index] !== undefined && srx[0] !== undefined && srx[e.index] !== srx[0]) {
      locs[e.index].engine.problem(
        "env_vars",
        FaultCode.ServerBadConfig,
        `FI_OFI_RXM_USE_SRX=${srx[e.index]} of engine ${e.index} differs from engine 0 (${srx[0]})`,
        "use the same value on every engine, or disable_srx at top level",
      );
    }
  }
  for (const e of cfg.engines.slice(1)) {
    const m = locs[e.index].engine;
    for (const [key, code, count] of SAME_COUNTS) {
      if (count(e) !== count(first)) {
        m.problem(
          key,
          code,
          `engine ${e.index} has ${count(e)} ${key} but engine 0 has ${count(first)}`,
          `configure the same ${key} on every engine`,
        );
      }
    }
    if (e.scm && first.scm && e.scm.class !== first.scm.class) {
      m.problem(
        "storage",
        FaultCode.ServerConfigScmDiffClass,
        `the SCM class in engine ${e.index} is different from engine 0`,
        "use the same SCM class on every engine",
      );
    }
    if (
      e.scm && first.scm &&
      (e.scm.scmHugepagesDisabled ?? true) !== (first.scm.scmHugepagesDisabled ?? true)
    ) {
      m.problem(
        "storage",
        FaultCode.ServerConfigScmHugeEnabled,
        `scm_hugepages_disabled differs between engine ${e.index} and engine 0`,
        "use the same scm_hugepages_disabled on every engine",
      );
    }
  }
}

/** Applies the offline rules of §1 to a parsed config, recording problems; mutates derived fields. */
export function validateServerConfig(cfg: ServerConfig, top: MapReader, locs: EngineLoc[]): void {
  const nameProblem = systemNameProblem(cfg.name);
  if (nameProblem !== null) {
    top.problem(
      "name",
      FaultCode.ServerBadConfig,
      `invalid system name: "${cfg.name}"`,
      nameProblem,
    );
  }
  const providers = [cfg.fabric.provider, ...cfg.engines.map((e) => e.fabric.provider)];
  for (const p of new Set(providers)) {
    if (p.includes(",")) {
      top.problem(
        "provider",
        FaultCode.ServerBadConfig,
        `fabric provider string "${p}" includes more than one provider`,
        "set a single provider",
      );
    }
  }
  for (const e of cfg.engines) {
    if (e.fabric.provider === "ofi+verbs") e.fabric.provider = "ofi+verbs;ofi_rxm";
    e.enableHotplug = !cfg.disableHotplug;
    e.systemName = cfg.name;
    e.controlMetadataPath = cfg.controlMetadata.path;
    e.controlMetadataDevice = cfg.controlMetadata.device;
  }
  validateReplicas(cfg, top);
  validateFaultPath(cfg, top);
  if (cfg.systemRamReserved <= 0) {
    top.problem(
      "system_ram_reserved",
      FaultCode.ServerConfigSysRsvdZero,
      "system_ram_reserved must be a positive integer",
      "set system_ram_reserved to the GiB kept for the OS, e.g. 64",
    );
  }
  if (cfg.engineAutoRestartMinDelay < 0) {
    top.problem(
      "engine_auto_restart_min_delay",
      FaultCode.ServerBadConfig,
      `engine_auto_restart_min_delay must be >= 0 (got ${cfg.engineAutoRestartMinDelay})`,
    );
  } else if (cfg.engineAutoRestartMinDelay === 0) cfg.engineAutoRestartMinDelay = 300;
  if (cfg.disableHugepages && cfg.nrHugepages !== 0) {
    top.problem(
      "nr_hugepages",
      FaultCode.ServerConfigHugepagesDisabledWithNrSet,
      "nr_hugepages cannot be set when disable_hugepages is true",
      "remove nr_hugepages or disable_hugepages",
    );
  }
  if (cfg.controlMetadata.device !== "" && cfg.controlMetadata.path === "") {
    top.problem(
      "control_metadata",
      FaultCode.ServerConfigControlMetadataNoPath,
      "using 'control_metadata.device' requires 'control_metadata.path'",
      "set control_metadata.path",
    );
  }
  for (const v of cfg.clientEnvVars) {
    if (!/^[^=\s]+=/.test(v)) {
      top.problem(
        "client_env_vars",
        FaultCode.ServerBadConfig,
        `invalid client_env_vars entry "${v}"`,
        "write KEY=VALUE",
      );
    }
  }
  if (cfg.engines.length === 0) {
    cfg.notices.push(
      "No DAOS I/O Engines in configuration, DAOS Control Server starting in discovery mode",
    );
    return;
  }
  for (const e of cfg.engines) validateEngine(cfg, e, locs[e.index]);
  validateMultiEngine(cfg, locs);
  validateStorageOverlaps(cfg, top, locs);
}

/**
 * scm_mount, file bdevs and control metadata may not share a path or nest (normalised paths;
 * the format flow checks again with symlinks resolved). Reported at the later of the two.
 */
function validateStorageOverlaps(cfg: ServerConfig, top: MapReader, locs: EngineLoc[]): void {
  for (const o of storageOverlaps(storageAreas(cfg))) {
    const b = o.b;
    if (b.engine === null) {
      top.map("control_metadata")?.problem("path", o.code, o.message, o.resolution);
      continue;
    }
    const tier = b.tier === null ? undefined : locs[b.engine]?.tiers[b.tier];
    if (tier) tier.problem(b.key, o.code, o.message, o.resolution);
    else locs[b.engine]?.engine.problem("storage", o.code, o.message, o.resolution);
  }
}
