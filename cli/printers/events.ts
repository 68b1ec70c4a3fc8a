/**
 * Printers for `dmg system events` and `dmg system audit` (ours): one line per event or
 * record, in text or (`-j`) as one compact JSON object per line, so that `--follow` output can
 * be piped to line-oriented tools.
 */
import type { AuditRecord, RASLogEntry } from "../../proto/gen/ts/mgmt/events_pb.ts";
import { NilRank } from "../../control/lib/rankset.ts";
import { rasEventName } from "../../control/mgmt/ops/ras_log.ts";

const SEVERITY = ["unknown", "error", "warning", "notice"];
const TYPE = ["any", "state_change", "info"];

/** One text line of event `e`. */
export function eventLine(e: RASLogEntry): string {
  const ev = e.event;
  if (!ev) return `${e.seq} (empty event)`;
  const sev = (SEVERITY[ev.severity] ?? String(ev.severity)).toUpperCase();
  const rank = ev.rank === NilRank ? "" : ` rank ${ev.rank}`;
  const inc = ev.incarnation > 0n ? ` incarnation ${ev.incarnation}` : "";
  return `${ev.timestamp || "-"} ${e.seq} ${rasEventName(ev.id)} ${sev} ${
    ev.hostname || "-"
  }${rank}${inc}: ${ev.msg}`;
}

/** Event `e` as one compact JSON object (no newline). */
export function eventJson(e: RASLogEntry): string {
  const ev = e.event;
  const info = ev?.extendedInfo.case === "strInfo"
    ? { str_info: ev.extendedInfo.value }
    : ev?.extendedInfo.case === "engineStateInfo"
    ? {
      engine_state_info: {
        instance: ev.extendedInfo.value.instance,
        errored: ev.extendedInfo.value.errored,
        error: ev.extendedInfo.value.error,
      },
    }
    : {};
  return JSON.stringify({
    seq: Number(e.seq),
    id: ev?.id ?? 0,
    name: rasEventName(ev?.id ?? 0),
    type: TYPE[ev?.type ?? 0] ?? String(ev?.type),
    severity: SEVERITY[ev?.severity ?? 0] ?? String(ev?.severity),
    timestamp: ev?.timestamp ?? "",
    hostname: ev?.hostname ?? "",
    rank: ev === undefined || ev.rank === NilRank ? null : ev.rank,
    incarnation: (ev?.incarnation ?? 0n).toString(),
    msg: ev?.msg ?? "",
    ...info,
  });
}

/** One text line of audit record `r`. */
export function auditLine(r: AuditRecord): string {
  return `${r.time} ${r.seq} ${r.method} by ${r.who} (${r.component}) from ${r.peer || "-"} on ` +
    `${r.target} at ${r.server}: ${r.outcome}`;
}

/** Audit record `r` as one compact JSON object (no newline). */
export function auditJson(r: AuditRecord): string {
  return JSON.stringify({
    seq: Number(r.seq),
    time: r.time,
    who: r.who,
    component: r.component,
    peer: r.peer,
    method: r.method,
    target: r.target,
    outcome: r.outcome,
    server: r.server,
  });
}
