/**
 * `daos_server ms status` (reference: cmd/daos_server/ms_recovery.go): whether this host is an
 * MS replica per its daos_server.yml (the reference refuses on a non-replica), its peers, and
 * the state of its MS database. Ours is an etcd member, so the live part comes from the
 * member's own status (etcd's JSON gateway: maintenance/status and cluster/member/list):
 * running or not, its raft term and index, the leader, the members. When the member does not
 * answer (daos_server stopped, or the DB not started yet) the report says so with the reason
 * and is still a success: the configuration part stands on its own.
 */
import type { Command } from "commander";
import type { GoJsonValue } from "../../cli/output/gojson.ts";
import type { ServerConfig } from "../config/types.ts";
import { mgmtDbDir } from "../mgmt/db_config.ts";
import { etcdClientUrl, etcdMemberName } from "../mgmt/etcd_member.ts";
import { tcpProbe } from "../mgmt/fanout.ts";
import { errorText } from "../lib/fault.ts";
import { resolveControlHost } from "../server/control_address.ts";
import { replicaRole } from "../server/ms_replicas.ts";
import type { CmdContext } from "./context.ts";
import { optionalConfig, type Runner } from "./runner.ts";

/** The reference's build.ManagementServiceName. */
export const MS_NAME = "DAOS Management Service";

/** How long the member has to answer. */
export const ETCD_STATUS_TIMEOUT_MS = 3_000;

/** What the local etcd member reported (or why it did not). */
export interface DbStatus {
  member: string;
  url: string;
  dataDir: string;
  running: boolean;
  error?: string;
  version?: string;
  raftTerm?: string;
  raftIndex?: string;
  /** Name of the leader member, "" when there is none (no quorum). */
  leader?: string;
  isLeader?: boolean;
  members?: { name: string; peerUrls: string[]; local: boolean }[];
}

interface EtcdStatus {
  header?: { member_id?: string };
  version?: string;
  leader?: string;
  raftTerm?: string;
  raftIndex?: string;
}

interface EtcdMembers {
  members?: { ID?: string; name?: string; peerURLs?: string[] }[];
}

/** Asks the etcd member at `url` for its status and the member list. */
export async function queryDb(
  post: (url: string, body: unknown, timeoutMs: number) => Promise<unknown>,
  base: Omit<DbStatus, "running">,
): Promise<DbStatus> {
  let st: EtcdStatus;
  try {
    st = await post(`${base.url}/v3/maintenance/status`, {}, ETCD_STATUS_TIMEOUT_MS) as EtcdStatus;
  } catch (e) {
    return { ...base, running: false, error: errorText(e) };
  }
  const out: DbStatus = {
    ...base,
    running: true,
    version: st.version ?? "",
    raftTerm: st.raftTerm ?? "0",
    raftIndex: st.raftIndex ?? "0",
  };
  const self = st.header?.member_id ?? "";
  const leaderId = st.leader ?? "0";
  out.isLeader = self !== "" && leaderId === self;
  try {
    const ml = await post(
      `${base.url}/v3/cluster/member/list`,
      {},
      ETCD_STATUS_TIMEOUT_MS,
    ) as EtcdMembers;
    const members = ml.members ?? [];
    out.members = members.map((m) => ({
      name: m.name ?? "",
      peerUrls: m.peerURLs ?? [],
      local: m.ID === self,
    }));
    out.leader = members.find((m) => m.ID === leaderId)?.name ?? "";
  } catch (e) {
    out.error = `member list: ${errorText(e)}`;
    out.leader = leaderId === "0" ? "" : leaderId;
  }
  return out;
}

/** The default HTTP POST (JSON in, JSON out). */
export async function postJson(url: string, body: unknown, timeoutMs: number): Promise<unknown> {
  let r: Response;
  try {
    r = await fetch(url, {
      method: "POST",
      body: JSON.stringify(body),
      headers: { "content-type": "application/json" },
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (e) {
    // fetch says only "fetch failed"; the reason (refused, timed out) is its cause.
    const cause = e instanceof Error && e.cause instanceof Error ? `: ${e.cause.message}` : "";
    throw new Error(`no answer from ${new URL(url).origin}${cause || `: ${errorText(e)}`}`);
  }
  const text = await r.text();
  if (!r.ok) throw new Error(`HTTP ${r.status}: ${text.trim()}`);
  return JSON.parse(text);
}

/** Whether the local daos_server's control port accepts connections. */
export function controlPortAnswers(addr: string, timeoutMs = 1_000): Promise<boolean> {
  return tcpProbe(addr, timeoutMs);
}

/** The status report (text). */
export function formatMsStatus(
  local: string,
  peers: string[],
  db: DbStatus | null,
  serverUp: boolean,
): string {
  let out = `${MS_NAME} DB status:\n  Control configuration:\n`;
  out += `    Local replica address: ${local}\n`;
  if (peers.length > 0) out += `    Peer replica addresses: ${peers.join(",")}\n`;
  out += `    Local daos_server: ${serverUp ? "running" : "not running"} (control port ${local}` +
    `${serverUp ? " answers" : " does not answer"})\n`;
  if (db === null) {
    return out + "  Database: external etcd (mgmt_svc_db.endpoints); no local member\n";
  }
  out += `  Database (etcd member ${db.member}, ${db.url}):\n`;
  out += `    Data directory: ${db.dataDir}\n`;
  if (!db.running) {
    return out + `    Running: no (${db.error}); it runs while daos_server runs on this host ` +
      "and engine 0's storage is formatted\n";
  }
  out += `    Running: yes (etcd ${db.version})\n`;
  const leader = db.isLeader ? "this replica" : db.leader ? db.leader : "none (no quorum)";
  out += `    Leader: ${leader}\n`;
  out += `    Raft term: ${db.raftTerm}\n    Raft index: ${db.raftIndex}\n`;
  if (db.members) {
    out += "  Raft configuration (members):\n";
    for (const m of db.members) {
      out += `    ${m.name} (${m.peerUrls.join(",")}): ${m.local ? "local" : "peer"}\n`;
    }
  }
  if (db.error) out += `  ${db.error}\n`;
  return out;
}

function statusJson(
  local: string,
  peers: string[],
  db: DbStatus | null,
  serverUp: boolean,
): GoJsonValue {
  return {
    local_replica: local,
    peer_replicas: peers,
    server_running: serverUp,
    db: db === null ? null : {
      member: db.member,
      url: db.url,
      data_dir: db.dataDir,
      running: db.running,
      error: db.error ?? "",
      version: db.version ?? "",
      leader: db.leader ?? "",
      is_leader: db.isLeader ?? false,
      raft_term: db.raftTerm ?? "",
      raft_index: db.raftIndex ?? "",
      members: db.members?.map((m) => ({ name: m.name, peer_urls: m.peerUrls, local: m.local })) ??
        null,
    },
  };
}

function dataDir(cfg: ServerConfig): string {
  try {
    return mgmtDbDir(cfg.mgmtSvcDb, {
      controlMetadataPath: cfg.controlMetadata.path || undefined,
      engine0ScmMount: cfg.engines[0]?.scm?.scmMount,
    });
  } catch (e) {
    return `(none: ${errorText(e)})`;
  }
}

async function status(ctx: CmdContext): Promise<void> {
  const cfg = await optionalConfig(ctx);
  if (!cfg) {
    throw new Error(
      `no configuration file given and ${ctx.host.defaultConfigPath} does not exist: use ` +
        "daos_server ms status -o <daos_server.yml>",
    );
  }
  const role = await replicaRole(cfg, await resolveControlHost(cfg));
  if (role.self === null) {
    throw new Error(
      `this node is not a ${MS_NAME} replica (mgmt_svc_replicas: ${
        role.replicas.join(", ") || "none"
      })`,
    );
  }
  const peers = role.replicas.filter((r) => r !== role.self);
  const db = cfg.mgmtSvcDb.endpoints.length > 0 ? null : await queryDb(ctx.host.httpPost, {
    member: etcdMemberName(role.self),
    url: etcdClientUrl(cfg.mgmtSvcDb, role.self),
    dataDir: dataDir(cfg),
  });
  const up = await ctx.host.tcpProbe(role.self);
  if (ctx.json) return ctx.writeJson(statusJson(role.self, peers, db, up));
  ctx.log.info(formatMsStatus(role.self, peers, db, up));
}

/** Registers `ms status`. */
export function registerMs(program: Command, run: Runner): void {
  program.command("ms")
    .description("Perform tasks related to management service replicas")
    .command("status")
    .description("Show status of the local management service replica")
    .action(run((ctx) => status(ctx), { config: "use" }));
}
