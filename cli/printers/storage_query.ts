/**
 * SMD device output (DAOS pretty.PrintSmdInfoMap): per host set a header, `Devices` and one
 * block per device (`UUID:<u> [TrAddr:<a>]`, then roles, targets, rank, state and LED, and
 * the health report when fetched), or `No devices found`; the LED-only form of `storage led`;
 * and the -j `HostStorage` map with `smd_info`.
 */
import { LedState, NvmeDevState, type SmdDevice } from "../../proto/gen/ts/ctl/smd_pb.ts";
import type { HostSmd } from "../../control/lib/control/storage_query.ts";
import type { PayloadGroup } from "../../control/lib/rpc/group.ts";
import type { GoJsonValue } from "../output/gojson.ts";
import { hostSetHeader } from "./host_block.ts";
import { formatNvmeHealth } from "./nvme_health.ts";
import { ctrlrJson, smdJson } from "./storage_scan.ts";
import { roleNames } from "./storage_format.ts";

/** The address a device is listed by: its controller's PCI address, else its backing path. */
export function deviceAddr(d: SmdDevice): string {
  return d.ctrlr?.pciAddr || d.bdevPath;
}

function stateName(d: SmdDevice): string {
  return NvmeDevState[d.ctrlr?.devState ?? NvmeDevState.UNKNOWN] ?? "UNKNOWN";
}

function ledName(d: SmdDevice): string {
  return LedState[d.ctrlr?.ledState ?? LedState.NA] ?? "NA";
}

/** One device block, indented by `indent` (health two more spaces in). */
export function formatSmdDevice(d: SmdDevice, indent: string): string {
  const nsid = d.ctrlrNamespaceId > 0 ? ` NSID:${d.ctrlrNamespaceId}` : "";
  let out = `${indent}UUID:${d.uuid} [TrAddr:${deviceAddr(d)}${nsid}]\n`;
  out += `${indent}  Roles:${roleNames(d.roleBits)} Targets:[${d.tgtIds.join(" ")}] ` +
    `Rank:${d.rank} State:${stateName(d)} LED:${ledName(d)}\n`;
  if (d.ctrlr?.healthStats !== undefined) {
    out += formatNvmeHealth(d.ctrlr.healthStats, indent + "    ") + "\n";
  }
  return out;
}

/** Canonical text of a host's SMD answer, for folding equal hosts together. */
export function smdFingerprint(h: HostSmd): string {
  return h.devices.map((d) => formatSmdDevice(d, "")).join("");
}

/** The device listing of every host set. */
export function formatSmdInfo(groups: readonly PayloadGroup<HostSmd>[]): string {
  let out = "";
  for (const g of groups) {
    out += hostSetHeader(g.hosts.toString());
    if (g.payload.devices.length === 0) {
      out += "  No devices found\n";
      continue;
    }
    out += "  Devices\n";
    for (const d of g.payload.devices) out += formatSmdDevice(d, "    ");
  }
  return out;
}

/** One SMD device as DAOS's storage.SmdDevice marshals it, with its controller. */
export function smdDeviceJson(d: SmdDevice): GoJsonValue {
  return smdJson(d, d.ctrlr ? ctrlrJson({ ...d.ctrlr, pciAddr: deviceAddr(d) }) : null);
}

/**
 * The -j `HostStorage` map of an SMD query: key → `{storage: {smd_info: {devices, pools}},
 * hosts}`, `smdInfo` giving each group's devices and pools.
 */
export function smdInfoHostStorageJson<T>(
  groups: readonly PayloadGroup<T>[],
  smdInfo: (payload: T) => { devices: GoJsonValue; pools: GoJsonValue },
): GoJsonValue {
  if (groups.length === 0) return null;
  return new Map(groups.map((g) => [g.key, {
    storage: {
      nvme_devices: null,
      scm_modules: null,
      scm_namespaces: null,
      scm_mount_points: null,
      smd_info: smdInfo(g.payload),
      reboot_required: false,
    },
    hosts: g.hosts.toString(),
  }]));
}

/** The -j `HostStorage` map of `storage query list-devices` / `device-health`. */
export function smdHostStorageJson(groups: readonly PayloadGroup<HostSmd>[]): GoJsonValue {
  return smdInfoHostStorageJson(groups, (p) => ({
    devices: p.devices.length > 0 ? p.devices.map(smdDeviceJson) : null,
    pools: null,
  }));
}
