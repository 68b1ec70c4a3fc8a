/**
 * Start-time host rules of daos_server.yml that need facts of this machine (server.md §1.2,
 * §1.3, §3.1): Transparent Huge Pages (624), one net device class for all engines' fabric
 * interfaces (613) and control_iface vs. the MS replica address (740). Pure functions over the
 * facts, so `config validate --hardware` and start share them.
 */
import { FaultCode } from "../lib/fault.ts";
import type { PathSegment } from "./locate.ts";
import type { ServerConfig } from "./types.ts";

/** One problem, located by key path. */
export interface HostProblem {
  path: PathSegment[];
  code: number;
  message: string;
  resolution: string;
}

/** True when the THP mode file selects `[always]` (madvise and never do not count). */
export function thpAlways(text: string | null): boolean {
  return text !== null && /\[always\]/.test(text);
}

/** 624: THP enabled on the host while allow_thp is false and hugepages are in use. */
export function checkThp(cfg: ServerConfig, thpText: string | null): HostProblem[] {
  // Without engines nothing uses hugepages (discovery mode).
  if (cfg.engines.length === 0 || cfg.allowThp || cfg.disableHugepages) return [];
  if (!thpAlways(thpText)) return [];
  return [{
    path: ["allow_thp"],
    code: FaultCode.ServerTransparentHugepageEnabled,
    message: "transparent hugepages are enabled on this host " +
      "(/sys/kernel/mm/transparent_hugepage/enabled is [always]) and allow_thp is false",
    resolution: "disable THP on the host (echo madvise > /sys/kernel/mm/transparent_hugepage/" +
      "enabled, or transparent_hugepage=madvise on the kernel command line), " +
      "or set allow_thp: true in the server config",
  }];
}

/** Name of an ARP hardware type as DAOS prints net device classes. */
export function netDevClassName(cls: number): string {
  const names: Record<number, string> = {
    1: "ETHER",
    32: "INFINIBAND",
    772: "LOOPBACK",
    512: "PPP",
    65534: "NONE",
  };
  return names[cls] ?? `class ${cls}`;
}

/**
 * 613: every engine's fabric_iface must have the same net device class as engine 0's.
 * Interfaces of unknown class (missing from sysfs) are reported by the interface checks.
 */
export function checkNetDevClasses(
  cfg: ServerConfig,
  classOf: ReadonlyMap<string, number | null>,
): HostProblem[] {
  const out: HostProblem[] = [];
  const first = cfg.engines[0];
  const primary = first ? classOf.get(first.fabric.fabricIface) ?? null : null;
  if (primary === null) return out;
  for (const e of cfg.engines.slice(1)) {
    const iface = e.fabric.fabricIface;
    const cls = classOf.get(iface) ?? null;
    if (cls === null || cls === primary) continue;
    out.push({
      path: ["engines", e.index, "fabric_iface"],
      code: FaultCode.ServerConfigInvalidNetDevClass,
      message: `I/O Engine ${e.index} specifies fabric_iface "${iface}" of class "${
        netDevClassName(cls)
      }" that conflicts with the primary server's device class "${netDevClassName(primary)}"`,
      resolution:
        "ensure that each I/O Engine specifies a fabric_iface with a matching device class and restart",
    });
  }
  return out;
}

/**
 * 740: when this host is an MS replica (one of its IPv4 addresses is a replica's address), the
 * control_iface address must be that replica address, or the MS would be reached elsewhere.
 */
export function checkControlIfaceReplica(
  cfg: ServerConfig,
  ifaceAddrs: readonly string[],
  localAddrs: readonly string[],
  replicaIps: readonly string[],
): HostProblem | null {
  if (cfg.controlIface === "" || ifaceAddrs.length === 0) return null;
  const mine = replicaIps.filter((ip) => localAddrs.includes(ip) && !/^127\./.test(ip));
  if (mine.length === 0 || mine.some((ip) => ifaceAddrs.includes(ip))) return null;
  return {
    path: ["control_iface"],
    code: FaultCode.ServerConfigControlInterfaceMismatch,
    message: `control_iface "${cfg.controlIface}" address ${
      ifaceAddrs.join(",")
    } does not match this host's MS replica address ${mine.join(",")}`,
    resolution:
      "set control_iface to the interface holding the mgmt_svc_replicas address of this host, " +
      "or list this host's control_iface address in mgmt_svc_replicas",
  };
}
