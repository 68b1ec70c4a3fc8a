/**
 * The IP the control server binds: `control_address` (ours, to run several servers on
 * 127.0.0.N), else the lowest IPv4 of `control_iface`, else all addresses.
 */
import type { ServerConfig } from "../config/types.ts";
import { makeFault } from "../lib/fault.ts";
import { readInterfaces } from "../sysinfo/netif.ts";

/** Returns the bind host. Throws fault 739 naming control_iface when it has no IPv4 address. */
export async function resolveControlHost(cfg: ServerConfig): Promise<string> {
  if (cfg.controlAddress !== "") return cfg.controlAddress;
  if (cfg.controlIface !== "") {
    const iface = (await readInterfaces()).find((i) => i.name === cfg.controlIface);
    const v4 = (iface?.addresses ?? []).filter((a) => /^\d+\.\d+\.\d+\.\d+$/.test(a));
    if (v4.length === 0) {
      throw makeFault(
        "ServerConfigBadControlInterface",
        `control_iface "${cfg.controlIface}" is invalid: ${
          iface ? "no IPv4 address on the interface" : "no such interface"
        }`,
        "set control_iface to an interface with an IPv4 address (see 'ip addr'), " +
          "or use control_address",
      );
    }
    // Lowest by byte order, as DAOS picks it.
    const key = (a: string) => a.split(".").map((p) => p.padStart(3, "0")).join(".");
    return v4.sort((a, b) => key(a).localeCompare(key(b)))[0];
  }
  return "0.0.0.0";
}
