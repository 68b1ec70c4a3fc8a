/**
 * MS replica determination (server.md §2.2): each mgmt_svc_replicas entry resolved to an IP
 * ("IP:port"); this server is a replica when one resolved IP is its control address (or, when
 * it binds all addresses, one of its interface addresses). The first entry bootstraps.
 */
import type { ServerConfig } from "../config/types.ts";
import { readInterfaces } from "../sysinfo/netif.ts";

/** Where this server stands among the MS replicas. */
export interface ReplicaRole {
  /** Every replica as "IP:port", in configured order. */
  replicas: string[];
  /** This server's replica address, or null when it is not a replica. */
  self: string | null;
  /** True when this server is the first configured replica. */
  bootstrap: boolean;
}

const IPV4 = /^\d+\.\d+\.\d+\.\d+$/;

function splitHostPort(entry: string): { host: string; port: number } {
  const i = entry.lastIndexOf(":");
  return { host: entry.slice(0, i).replace(/^\[|\]$/g, ""), port: Number(entry.slice(i + 1)) };
}

/** Resolves a host name to its first IPv4 address (byte order); IPs are returned as they are. */
export async function resolveIPv4(host: string): Promise<string> {
  if (IPV4.test(host)) return host;
  if (host === "localhost") return "127.0.0.1";
  let ips: string[];
  try {
    ips = await Deno.resolveDns(host, "A");
  } catch (e) {
    throw new Error(
      `cannot resolve MS replica "${host}": ${
        e instanceof Error ? e.message : e
      }; use an IP address or a resolvable name in mgmt_svc_replicas`,
    );
  }
  const key = (a: string) => a.split(".").map((p) => p.padStart(3, "0")).join(".");
  const v4 = ips.filter((a) => IPV4.test(a)).sort((a, b) => key(a).localeCompare(key(b)));
  if (v4.length === 0) {
    throw new Error(`MS replica "${host}" has no IPv4 address: fix mgmt_svc_replicas`);
  }
  return v4[0];
}

/**
 * Resolves the replica list and decides this server's role. `bindHost` is the control
 * listener's host; "0.0.0.0" compares against every local interface address.
 */
export async function replicaRole(
  cfg: ServerConfig,
  bindHost: string,
  localAddrs: () => Promise<string[]> = async () =>
    (await readInterfaces()).flatMap((i) => i.addresses),
): Promise<ReplicaRole> {
  const replicas: string[] = [];
  for (const entry of cfg.mgmtSvcReplicas) {
    const { host, port } = splitHostPort(entry);
    replicas.push(`${await resolveIPv4(host)}:${port}`);
  }
  const mine = bindHost === "0.0.0.0" ? new Set(await localAddrs()) : new Set([bindHost]);
  const self = replicas.find((r) => mine.has(splitHostPort(r).host)) ?? null;
  return { replicas, self, bootstrap: self !== null && self === replicas[0] };
}
