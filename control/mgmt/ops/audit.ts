/**
 * The audit trail: every mutating admin RPC, as the server that served it saw it (who, from
 * where, what, when, outcome). The control server's interceptor (handlers/audit.ts) builds the
 * record; the MS leader appends it to its audit log (ras_log.ts AppendLog, kind "audit"), and
 * a server that is not the leader (StorageFormat runs on every host) forwards it to the leader
 * as a ClusterEvent carrying the record (best effort: never holding the call back). Nothing
 * edits or deletes a record but the log's bound (`audit_log_size`, oldest first).
 */
import { create, fromJsonString, toJsonString } from "@bufbuild/protobuf";
import { type AuditRecord, AuditRecordSchema } from "../../../proto/gen/ts/mgmt/events_pb.ts";
import { type RASEvent, RASEventSchema } from "../../../proto/gen/ts/shared/event_pb.ts";
import { errorText } from "../../lib/fault.ts";
import { NilRank } from "../../lib/rankset.ts";
import type { LogEntry } from "../store_log.ts";
import { cut, RasEventId, RasSeverity, RasType } from "./ras_log.ts";

export type { AuditRecord };

/**
 * The audited methods: the admin RPCs that change the system or a host. New mutating RPCs
 * (pool verbs) are added here with their RPC.
 */
export const AUDITED_METHODS: ReadonlySet<string> = new Set([
  "/ctl.CtlSvc/StorageFormat",
  "/ctl.CtlSvc/SmdManage",
  "/ctl.CtlSvc/SetEngineLogMasks",
  "/mgmt.MgmtSvc/SystemStop",
  "/mgmt.MgmtSvc/SystemStart",
  "/mgmt.MgmtSvc/SystemExclude",
  "/mgmt.MgmtSvc/SystemErase",
  "/mgmt.MgmtSvc/SystemSetAttr",
  "/mgmt.MgmtSvc/SystemSetProp",
  "/mgmt.MgmtSvc/SystemDrain",
  "/mgmt.MgmtSvc/PoolCreate",
  "/mgmt.MgmtSvc/PoolDestroy",
  "/mgmt.MgmtSvc/PoolExclude",
  "/mgmt.MgmtSvc/PoolDrain",
  "/mgmt.MgmtSvc/PoolReintegrate",
  "/mgmt.MgmtSvc/PoolExtend",
  "/mgmt.MgmtSvc/PoolSetProp",
]);

/** The keys of a map field of a request message (values are left out: they may be private). */
function mapKeys(msg: unknown, name: string): string[] {
  if (typeof msg !== "object" || msg === null) return [];
  const v = (msg as Record<string, unknown>)[name];
  return typeof v === "object" && v !== null ? Object.keys(v).sort() : [];
}

/** True when calls of `fullMethod` ("/mgmt.MgmtSvc/SystemStop") are audited. */
export function isAudited(fullMethod: string): boolean {
  return AUDITED_METHODS.has(fullMethod);
}

/** A string field of a request message, "" when absent. */
function field(msg: unknown, name: string): string {
  if (typeof msg !== "object" || msg === null) return "";
  const v = (msg as Record<string, unknown>)[name];
  return typeof v === "string" ? v : "";
}

/**
 * What a call of `fullMethod` with request `msg` acts on: its rank and host filters (all of
 * the system when it names none), the serving host for StorageFormat.
 */
export function auditTarget(fullMethod: string, msg: unknown, server: string): string {
  if (fullMethod.startsWith("/ctl.CtlSvc/")) return `host ${server}`;
  if (fullMethod === "/mgmt.MgmtSvc/SystemSetAttr") {
    return `attributes ${mapKeys(msg, "attributes").join(",")}`;
  }
  if (fullMethod === "/mgmt.MgmtSvc/SystemSetProp") {
    return `properties ${mapKeys(msg, "properties").join(",")}`;
  }
  if (fullMethod.startsWith("/mgmt.MgmtSvc/Pool")) {
    // The pool by its id (PoolCreate: its new uuid); property values are never recorded.
    const id = field(msg, "id") || field(msg, "uuid");
    const rk = typeof msg === "object" && msg !== null
      ? (msg as Record<string, unknown>)["ranks"]
      : undefined;
    const ranks = Array.isArray(rk) && rk.length > 0 ? ` ranks ${rk.join(",")}` : "";
    return `pool ${id}${ranks}`;
  }
  const parts: string[] = [];
  const ranks = field(msg, "ranks");
  const hosts = field(msg, "hosts");
  if (ranks !== "") parts.push(`ranks ${ranks}`);
  if (hosts !== "") parts.push(`hosts ${hosts}`);
  const flags = ["force", "clear", "ignoreAdminExcluded"].filter((f) =>
    typeof msg === "object" && msg !== null && (msg as Record<string, unknown>)[f] === true
  );
  if (flags.length > 0) parts.push(flags.join(","));
  return parts.length > 0 ? parts.join(" ") : "all ranks";
}

/** The fields of a record as the interceptor knows them. */
export interface AuditInput {
  time: string;
  /** Certificate CN, or "insecure". */
  who: string;
  component: string;
  peer: string;
  method: string;
  target: string;
  /** undefined: the call succeeded; else its error. */
  error?: unknown;
  server: string;
}

/** The record for `a` (seq 0: the log assigns it). */
export function auditRecord(a: AuditInput): AuditRecord {
  return create(AuditRecordSchema, {
    time: a.time,
    who: a.who,
    component: a.component,
    peer: a.peer,
    method: a.method,
    target: cut(a.target),
    outcome: a.error === undefined ? "ok" : cut(errorText(a.error)),
    server: a.server,
  });
}

/** One control-log line for record `r`. */
export function describeAudit(r: AuditRecord): string {
  return `AUDIT ${r.method} by ${r.who} (${r.component}) from ${r.peer || "?"} on ${r.target} ` +
    `at ${r.server}: ${r.outcome}`;
}

/** Stored form of a record (proto JSON without the sequence number, the key holds it). */
export function encodeAudit(r: AuditRecord): string {
  return toJsonString(AuditRecordSchema, create(AuditRecordSchema, { ...r, seq: 0n }));
}

/** A stored record with its sequence number; an unreadable entry says so in its outcome. */
export function decodeAudit(e: LogEntry): AuditRecord {
  try {
    const r = fromJsonString(AuditRecordSchema, e.value, { ignoreUnknownFields: true });
    r.seq = e.seq;
    return r;
  } catch (err) {
    return create(AuditRecordSchema, {
      seq: e.seq,
      outcome: `unreadable audit record: ${errorText(err)}`,
    });
  }
}

/** The ClusterEvent a server forwards a record in (str_info = the record's JSON). */
export function auditEvent(r: AuditRecord, hostname: string): RASEvent {
  return create(RASEventSchema, {
    id: RasEventId.AUDIT_RECORD,
    msg: `${r.method}: ${r.outcome}`,
    timestamp: r.time,
    type: RasType.INFO,
    severity: RasSeverity.NOTICE,
    hostname,
    rank: NilRank,
    extendedInfo: { case: "strInfo", value: encodeAudit(r) },
  });
}

/** The record a forwarded ClusterEvent carries, or null when `ev` is no audit record. */
export function auditFromEvent(ev: RASEvent): AuditRecord | null {
  if (ev.id !== RasEventId.AUDIT_RECORD || ev.extendedInfo.case !== "strInfo") return null;
  const r = decodeAudit({ seq: 0n, value: ev.extendedInfo.value });
  return r.method === "" ? null : r;
}
