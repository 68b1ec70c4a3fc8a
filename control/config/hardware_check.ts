/**
 * `--hardware` checks of daos_server.yml against this host (server.md §1.2, §1.3, §1.7, §1.8):
 * interfaces and addresses, socket_dir, devices (PMem, kdev, NVMe, file bdev directories) and
 * memory for the RAM-disks. Each problem names the key path it concerns.
 */
import { FaultCode } from "../lib/fault.ts";
import type { PathSegment } from "./locate.ts";
import type { EngineConfig, ServerConfig } from "./types.ts";
import {
  engineFormatHazards,
  type FormatHazard,
  resolvedStorageOverlaps,
} from "../storage/format_safety.ts";
import { storageAreas, storageOverlaps } from "./storage_overlap.ts";
import { statfs } from "../sysinfo/statfs.ts";
import { readMeminfo, type SysMemInfo } from "../sysinfo/meminfo.ts";
import { fileBdevBytes } from "../storage/bdev_format.ts";
import { type NvmeDevice, scanNvme } from "../sysinfo/nvme.ts";
import { lookup } from "node:dns/promises";
import { type Fault, isFault } from "../lib/fault.ts";
import { controlMetadataHazard } from "../storage/metadata_safety.ts";
import { faultCallbackProblem, runFaultCallback } from "./fault_domain.ts";
import { checkControlIfaceReplica, checkNetDevClasses, checkThp } from "./host_checks.ts";

/** One hardware problem, located by key path. */
export interface HardwareProblem {
  path: PathSegment[];
  code: number;
  message: string;
  resolution: string;
}

/** The host facts used by the checks (injectable for tests). */
export interface HostFacts {
  interfaces: Deno.NetworkInterfaceInfo[];
  mem: SysMemInfo;
  nvme: NvmeDevice[];
  stat(path: string): Promise<Deno.FileInfo | null>;
  /** lstat (no symlink following), for fault_cb. */
  lstat(path: string): Promise<Deno.FileInfo | null>;
  /** Resolves a host name (getaddrinfo); false when it does not resolve. */
  resolves(host: string): Promise<boolean>;
  /** First IPv4 address of a host name (IPs as they are); null when it does not resolve. */
  resolveIPv4(host: string): Promise<string | null>;
  /** ARP hardware type of an interface (/sys/class/net/<if>/type); null when unknown. */
  netDevClass(iface: string): Promise<number | null>;
  /** Text of /sys/kernel/mm/transparent_hugepage/enabled; null when absent (no THP). */
  thpEnabled: string | null;
  /** Runs fault_cb (already checked for 718-720) and returns the fault domain; throws a Fault. */
  runFaultCb(path: string): Promise<string>;
  /**
   * What `storage format` (without --force) would refuse for an engine: system paths, data
   * not ours at scm_mount or in file bdevs. Absent in fakes that do not test it.
   */
  formatHazards?(e: EngineConfig): Promise<FormatHazard[]>;
  /** What format (without --force) would refuse of control_metadata; absent in fakes. */
  metadataHazard?(cfg: ServerConfig): Promise<Fault | null>;
  /** Free bytes of the filesystem holding `dir`; absent in fakes that do not test it. */
  availBytes?(dir: string): Promise<number>;
  /** Storage areas overlapping once symlinks are resolved; absent in fakes. */
  storageOverlaps?(cfg: ServerConfig): ReturnType<typeof resolvedStorageOverlaps>;
}

/** Resolves with a bounded wait, so a dead resolver cannot hang validation. */
async function resolvesBounded(host: string, ms = 3000): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)));
  try {
    return await Promise.race([lookup(host).then(() => true, () => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** First IPv4 of a host with a bounded wait; IPv4 literals are returned unchanged. */
async function resolveIPv4Bounded(host: string, ms = 3000): Promise<string | null> {
  if (/^\d+\.\d+\.\d+\.\d+$/.test(host)) return host;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<null>((r) => (timer = setTimeout(() => r(null), ms)));
  try {
    return await Promise.race([
      lookup(host, { family: 4 }).then((a) => a.address, () => null),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Path of the kernel's THP mode file. */
export const THP_ENABLED_PATH = "/sys/kernel/mm/transparent_hugepage/enabled";

/** Facts of this machine. */
export async function hostFacts(): Promise<HostFacts> {
  return {
    interfaces: Deno.networkInterfaces(),
    mem: await readMeminfo(),
    nvme: await scanNvme(),
    stat: (p) => Deno.stat(p).catch(() => null),
    lstat: (p) => Deno.lstat(p).catch(() => null),
    resolves: (h) => resolvesBounded(h),
    resolveIPv4: (h) => resolveIPv4Bounded(h),
    netDevClass: async (i) => {
      const t = await Deno.readTextFile(`/sys/class/net/${i}/type`).catch(() => "");
      return /^\d+$/.test(t.trim()) ? Number(t.trim()) : null;
    },
    thpEnabled: await Deno.readTextFile(THP_ENABLED_PATH).catch(() => null),
    runFaultCb: (p) => runFaultCallback(p),
    formatHazards: (e) => engineFormatHazards(e, false),
    metadataHazard: (c) => controlMetadataHazard(c.controlMetadata, false),
    availBytes: async (d) => (await statfs(d)).availBytes,
    storageOverlaps: (c) => resolvedStorageOverlaps(c),
  };
}

function ipv4Of(facts: HostFacts, iface: string): string[] {
  return facts.interfaces.filter((i) => i.name === iface && i.family === "IPv4").map((i) =>
    i.address
  );
}

const GiB = 1 << 30;

/** Runs every hardware check; returns all problems found. */
export async function checkHardware(
  cfg: ServerConfig,
  facts: HostFacts,
): Promise<HardwareProblem[]> {
  const out: HardwareProblem[] = [];
  const add = (path: PathSegment[], code: number, message: string, resolution = "") =>
    out.push({ path, code, message, resolution });
  const names = new Set(facts.interfaces.map((i) => i.name));

  if (cfg.controlIface !== "") {
    if (!names.has(cfg.controlIface)) {
      add(
        ["control_iface"],
        FaultCode.ServerConfigBadControlInterface,
        `control_iface "${cfg.controlIface}" is invalid: no such interface`,
        "set control_iface to an existing interface (see 'ip addr')",
      );
    } else if (ipv4Of(facts, cfg.controlIface).length === 0) {
      add(
        ["control_iface"],
        FaultCode.ServerConfigBadControlInterface,
        `control_iface "${cfg.controlIface}" is invalid: no IPv4 address`,
        "give the interface an IPv4 address or choose another",
      );
    }
  }
  if (cfg.controlAddress !== "") {
    const mine = facts.interfaces.some((i) => i.address === cfg.controlAddress) ||
      /^127\./.test(cfg.controlAddress);
    if (!mine) {
      add(
        ["control_address"],
        FaultCode.ServerConfigBadControlInterface,
        `control_address ${cfg.controlAddress} is not an address of this host`,
        "set control_address to one of this host's IP addresses",
      );
    }
  }
  const sd = await facts.stat(cfg.socketDir);
  if (!sd?.isDirectory) {
    add(
      ["socket_dir"],
      FaultCode.ServerBadConfig,
      `missing socket directory ${cfg.socketDir}`,
      "create the directory or set socket_dir to an existing one",
    );
  }

  if (cfg.engines.length > 0) {
    const key = cfg.mgmtSvcReplicas.length > 0 ? "mgmt_svc_replicas" : "access_points";
    for (const r of cfg.mgmtSvcReplicas) {
      const host = r.replace(/:\d+$/, "").replace(/^\[|\]$/g, "");
      if (!(await facts.resolves(host))) {
        add(
          [key],
          FaultCode.ServerConfigBadMgmtSvcReplicas,
          `invalid list of MS replicas in configuration: cannot resolve "${host}"`,
          "use resolvable host names or IP addresses in mgmt_svc_replicas",
        );
      }
    }
  }
  if (cfg.faultCb !== "" && await checkFaultCb(cfg.faultCb, facts, add)) {
    try {
      await facts.runFaultCb(cfg.faultCb);
    } catch (e) {
      if (!isFault(e)) throw e;
      add(["fault_cb"], e.code, e.description, e.resolution);
    }
  }
  for (const p of checkThp(cfg, facts.thpEnabled)) add(p.path, p.code, p.message, p.resolution);
  const classes = new Map<string, number | null>();
  for (const e of cfg.engines) {
    const i = e.fabric.fabricIface;
    if (i !== "" && !classes.has(i)) classes.set(i, await facts.netDevClass(i));
  }
  for (const p of checkNetDevClasses(cfg, classes)) add(p.path, p.code, p.message, p.resolution);
  if (cfg.controlIface !== "" && cfg.controlAddress === "") {
    const replicaIps: string[] = [];
    for (const r of cfg.mgmtSvcReplicas) {
      const ip = await facts.resolveIPv4(r.replace(/:\d+$/, "").replace(/^\[|\]$/g, ""));
      if (ip !== null) replicaIps.push(ip);
    }
    const local = facts.interfaces.filter((i) => i.family === "IPv4").map((i) => i.address);
    const p = checkControlIfaceReplica(cfg, ipv4Of(facts, cfg.controlIface), local, replicaIps);
    if (p) add(p.path, p.code, p.message, p.resolution);
  }

  const meta = await facts.metadataHazard?.(cfg);
  if (meta) {
    const key = cfg.controlMetadata.device !== "" ? "device" : "path";
    add(["control_metadata", key], meta.code, meta.description, meta.resolution);
  }

  // Overlaps through symlinks (the lexical ones are the offline check's).
  const lexical = storageOverlaps(storageAreas(cfg));
  for (const o of (await facts.storageOverlaps?.(cfg)) ?? []) {
    if (lexical.some((l) => l.a.path === o.a.path && l.b.path === o.b.path)) continue;
    const b = o.b;
    const path: PathSegment[] = b.engine === null
      ? ["control_metadata", "path"]
      : ["engines", b.engine, "storage", b.tier ?? 0, b.key];
    add(path, o.code, o.message, o.resolution);
  }

  const ramEngines = cfg.engines.filter((e) => e.scm?.class === "ram");
  for (const e of cfg.engines) {
    const at = (...p: PathSegment[]) => ["engines", e.index, ...p];
    const iface = e.fabric.fabricIface;
    // networkInterfaces() lists addresses only: an interface known to sysfs but absent there
    // exists without addresses.
    if (iface !== "" && !names.has(iface)) {
      if (await facts.stat(`/sys/class/net/${iface}`)) {
        add(
          at("fabric_iface"),
          FaultCode.ServerBadConfig,
          `no network addresses for interface "${iface}"`,
          "assign an address to the interface",
        );
      } else {
        add(
          at("fabric_iface"),
          FaultCode.ServerBadConfig,
          `fabric_iface "${iface}" of engine ${e.index}: no such interface`,
          "set fabric_iface to an existing network interface",
        );
      }
    }
    if (e.scm?.class === "dcpm") {
      for (const d of e.scm.scmList) {
        if (!(await facts.stat(d))) {
          add(
            at("storage", 0, "scm_list"),
            211,
            `No PMem modules exist on storage server (${d} not found)`,
            "Install PMem modules and retry command, or use class ram",
          );
        }
      }
    }
    for (const h of (await facts.formatHazards?.(e)) ?? []) {
      const tier = h.kind === "scm"
        ? e.scm?.tier ?? 0
        : e.bdevs.find((t) => t.bdevList.includes(h.path))?.tier ?? 0;
      add(
        at("storage", tier, h.kind === "scm" ? "scm_mount" : "bdev_list"),
        h.fault.code,
        h.fault.description,
        h.fault.resolution,
      );
    }
    for (const t of e.bdevs) {
      const tp = at("storage", t.tier, "bdev_list");
      for (const d of t.bdevList) {
        if (t.class === "kdev") {
          const st = await facts.stat(d);
          if (!st) add(tp, 304, `kdev ${d} not found`, "create the block device or fix bdev_list");
          else if (!st.isBlockDevice) {
            add(tp, 302, `kdev ${d} is not a block device`, "use class file for regular files");
          }
        } else if (t.class === "file") {
          const dir = d.slice(0, d.lastIndexOf("/")) || "/";
          if (!(await facts.stat(dir))?.isDirectory) {
            add(
              tp,
              302,
              `directory ${dir} of AIO file ${d} does not exist`,
              "create the directory first",
            );
          } else if (facts.availBytes && !(await facts.stat(d))) {
            const avail = await facts.availBytes(dir).catch(() => null);
            const want = fileBdevBytes(t.bdevSize);
            if (avail !== null && want > avail) {
              add(
                tp,
                302,
                `AIO file ${d}: bdev_size ${t.bdevSize} GiB (${want} bytes) is more than the ${avail} bytes available in ${dir}`,
                `free space in ${dir}, lower bdev_size or list a file on a larger filesystem`,
              );
            }
          }
        } else if (!facts.nvme.some((n) => n.pciAddr.toLowerCase() === d.toLowerCase())) {
          add(
            tp,
            304,
            `NVMe controller ${d} not found on this host`,
            "check the PCI address with 'lspci' or remove it from bdev_list",
          );
        }
      }
    }
  }
  // RAM-disks: configured sizes must fit the maximum (§1.8); auto-size must reach 4 GiB.
  if (ramEngines.length > 0) {
    const reserve = cfg.engines.reduce((s, e) => s + Math.max(e.targets * 128 * (1 << 20), GiB), 0);
    const huge = facts.mem.hugepagesTotal * facts.mem.hugepageSizeKb * 1024;
    const max = Math.floor(
      (facts.mem.memTotalKb * 1024 - huge - cfg.systemRamReserved * GiB - reserve) /
        ramEngines.length / GiB,
    );
    for (const e of ramEngines) {
      const size = e.scm!.scmSize;
      if (size === 0 && max < 4) {
        add(
          ["engines", e.index, "storage", 0],
          214,
          `Total memory (RAM) insufficient for creating ram-disk: auto size ${max} GiB is below 4 GiB`,
          "set scm_size explicitly or lower system_ram_reserved",
        );
      } else if (size > 0 && size > Math.max(max, 0)) {
        add(
          ["engines", e.index, "storage", 0, "scm_size"],
          FaultCode.ServerConfigRamdiskOverMaxMem,
          `configured ram-disk size ${size}.0 GiB is higher than the maximum (${
            Math.max(max, 0)
          }.0 GiB) calculated from available memory`,
          "lower scm_size or system_ram_reserved",
        );
      }
    }
  }
  return out;
}

/** fault_cb must pass {@link faultCallbackProblem} (718-720). Returns true when it may be run. */
async function checkFaultCb(
  path: string,
  facts: HostFacts,
  add: (path: PathSegment[], code: number, message: string, resolution?: string) => void,
): Promise<boolean> {
  const p = faultCallbackProblem(path, await facts.lstat(path));
  if (p) add(["fault_cb"], p.code, p.description, p.resolution);
  return p === null;
}
