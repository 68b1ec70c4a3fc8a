/**
 * A LocalCluster (tests/cluster) whose servers each run on their own host of a NetnsLab:
 * control address = the host's lab IP, engines on the host's eth0, dmg and etcdctl run on a
 * host. `withNetnsCluster` always tears down the lab (processes, namespaces, mounts), then the
 * cluster (its files).
 */
import { parse } from "yaml";
import { type ClusterOptions, LocalCluster } from "../cluster/local_cluster.ts";
import type { RunResult } from "./exec.ts";
import { NetnsLab } from "./lab.ts";
import { markOwned, removeLeftoverDirs } from "./leftover_dirs.ts";

/** Name prefix of LocalCluster's temp directories. */
const CLUSTER_DIR_PREFIX = "daos-cluster-";

/** Cluster shape; addresses, ports, launch and fabric interface come from the lab. */
export type NetnsClusterOptions = Omit<
  ClusterOptions,
  "hostIps" | "port" | "fabricIface" | "commandPrefix"
>;

/** Control port of every lab server (each host has its own IP, so one port fits all). */
export const LAB_CONTROL_PORT = 10001;

/** `dmg system leader-query -j` response. */
export interface LeaderQuery {
  current_leader: string;
  replicas: string[];
  down_replicas: string[] | null;
}

/** Runs `fn` with a started-nothing cluster on a fresh lab; always tears everything down. */
export async function withNetnsCluster<T>(
  opts: NetnsClusterOptions,
  fn: (c: LocalCluster, lab: NetnsLab) => Promise<T>,
): Promise<T> {
  // Creating the lab sweeps crashed runs' namespaces (and the processes and mounts in them);
  // then their cluster directories can go.
  const lab = await NetnsLab.create({ hosts: opts.servers });
  const tmp = Deno.env.get("TMPDIR") || "/tmp";
  await removeLeftoverDirs(tmp, CLUSTER_DIR_PREFIX).catch(() => {});
  let cluster: LocalCluster | null = null;
  let outcome: { ok: true; value: T } | { ok: false; error: unknown };
  try {
    cluster = await LocalCluster.create({
      ...opts,
      hostIps: lab.hosts.map((h) => h.ip),
      port: LAB_CONTROL_PORT,
      fabricIface: lab.hosts[0].iface,
      commandPrefix: (i) => lab.prefix(i),
    });
    await markOwned(cluster.root);
    outcome = { ok: true, value: await fn(cluster, lab) };
  } catch (e) {
    outcome = { ok: false, error: e };
  }
  const teardown: unknown[] = [];
  // The lab first: it SIGKILLs every process on every host at once (the cluster's own
  // per-server kill and reap takes seconds each) and its hosts' mount namespaces, with the
  // tmpfs SCM, go with it. Then the cluster reaps its children and removes its files.
  await lab.destroy().catch((e) => teardown.push(e));
  await cluster?.destroy().catch((e) => teardown.push(e));
  if (!outcome.ok) throw outcome.error; // the test's own failure matters most
  if (teardown.length) throw teardown[0];
  return outcome.value;
}

/** `dmg system leader-query` run on host `on`; throws on an error answer. */
export async function leaderQuery(c: LocalCluster, on: number): Promise<LeaderQuery> {
  const r = await c.dmgJson<LeaderQuery>(["system", "leader-query"], { on, timeoutMs: 30_000 });
  if (r.error || !r.response) throw new Error(`leader-query on h${on}: ${r.error}`);
  return r.response;
}

/** Client URL of the etcd member of the replica on server `i` (from its daos_server.yml). */
export async function etcdEndpoint(c: LocalCluster, i: number): Promise<string> {
  const s = c.server(i);
  const cfg = parse(await Deno.readTextFile(s.configPath)) as {
    mgmt_svc_db?: { ports?: Record<string, { client: number }> };
  };
  const port = cfg.mgmt_svc_db?.ports?.[s.addr]?.client;
  if (port === undefined) throw new Error(`${s.configPath}: no mgmt_svc_db.ports for ${s.addr}`);
  return `http://${s.ip}:${port}`;
}

/**
 * Runs `etcdctl <args>` on server `i`'s host against its own etcd member only (2 s per
 * command), so the answer reflects that member's view (no failover to other endpoints).
 */
export async function etcdctl(
  lab: NetnsLab,
  c: LocalCluster,
  i: number,
  args: string[],
): Promise<RunResult> {
  const endpoint = await etcdEndpoint(c, i);
  return await lab.run(
    i,
    "etcdctl",
    ["--endpoints", endpoint, "--command-timeout=2s", "--dial-timeout=1s", ...args],
    { timeoutMs: 15_000, env: { ETCDCTL_API: "3" } },
  );
}

/** `etcdctl put key value` against server `i`'s own etcd member. */
export function etcdPut(
  lab: NetnsLab,
  c: LocalCluster,
  i: number,
  key: string,
  value: string,
): Promise<RunResult> {
  return etcdctl(lab, c, i, ["put", key, value]);
}

/** `etcdctl get key --print-value-only` against server `i`'s own etcd member. */
export function etcdGet(
  lab: NetnsLab,
  c: LocalCluster,
  i: number,
  key: string,
): Promise<RunResult> {
  return etcdctl(lab, c, i, ["get", key, "--print-value-only"]);
}
