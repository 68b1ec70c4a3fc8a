/**
 * The MS's RAS event log and audit trail (ours; proto/mgmt/events.proto): typed requests over
 * an Invoker, and the follow loop that keeps a SystemFollowEvents stream going across MS
 * replicas, resuming after the last sequence number it delivered (no loss, no repeats).
 */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import {
  type RASLogEntry,
  type SystemFollowEventsReq,
  SystemFollowEventsReqSchema,
} from "../../../proto/gen/ts/mgmt/events_pb.ts";
import { MgmtSvc } from "../../../proto/gen/ts/mgmt/mgmt_pb.ts";
import { isFault } from "../fault.ts";
import { decodeRemoteError, isMsRetryable } from "../rpc/error_codec.ts";
import { TransportPool } from "../rpc/transport.ts";
import type { Invoker } from "./invoker.ts";
import type { MsOptions } from "./system.ts";

/** SystemGetEvents: stored events after a cursor, by time and rank; the next cursor. */
export function systemGetEvents(
  inv: Invoker,
  opts: MsOptions,
  req: { sys: string; after?: bigint; since?: string; ranks?: string; limit?: number },
) {
  return inv.msRequest(
    MgmtSvc.method.systemGetEvents,
    create(MgmtSvc.method.systemGetEvents.input, req),
    { ...opts, name: "SystemGetEvents" },
  );
}

/** SystemGetAudit: stored audit records after a cursor. */
export function systemGetAudit(
  inv: Invoker,
  opts: MsOptions,
  req: { sys: string; after?: bigint; limit?: number },
) {
  return inv.msRequest(
    MgmtSvc.method.systemGetAudit,
    create(MgmtSvc.method.systemGetAudit.input, req),
    { ...opts, name: "SystemGetAudit" },
  );
}

/** Something that opens a SystemFollowEvents stream on one host. */
export interface EventStreamSource {
  followEvents(
    addr: string,
    req: SystemFollowEventsReq,
    signal: AbortSignal,
  ): AsyncIterable<RASLogEntry>;
}

/**
 * The stream source of `inv`: the transport pool's sessions, or the invoker itself when it
 * streams (a test's). Throws for an invoker that cannot stream.
 */
export function streamSource(inv: Invoker): EventStreamSource {
  if (inv instanceof TransportPool) {
    return {
      followEvents: (addr, req, signal) =>
        createClient(MgmtSvc, inv.get(addr)).systemFollowEvents(req, { signal }),
    };
  }
  const s = inv as Partial<EventStreamSource>;
  if (typeof s.followEvents === "function") return s as EventStreamSource;
  throw new Error("this control client cannot follow event streams");
}

/** Options of {@link followEvents}. */
export interface FollowOptions {
  /** The replicas to stream from (in turn, starting with the first). */
  hosts: readonly string[];
  /** Ends the stream (normal end: no error). */
  signal: AbortSignal;
  /** Gives up once no replica could be streamed from for this long (ms). */
  giveUpMs: number;
  /** Each event, once, in sequence order. */
  onEvent(e: RASLogEntry): void;
  /** A stream failed on `addr`; it resumes on the next replica. */
  onRetry?(addr: string, err: Error): void;
  /** Pause between attempts (ms, default 250). */
  retryDelayMs?: number;
}

/**
 * True for stream failures another replica (or a later try) can get past: the MS moving
 * (not leader/replica, not ready), a host gone, a cut connection; not a refusal of the
 * request itself (wrong system, no permission, a bad filter).
 */
function retryable(err: Error, raw: unknown): boolean {
  if (isMsRetryable(err)) return true;
  if (isFault(err)) return err.domain === "client";
  const code = ConnectError.from(raw).code;
  return ![Code.PermissionDenied, Code.Unauthenticated, Code.InvalidArgument].includes(code);
}

/**
 * Follows the event log from `req.after` (or the newest `req.tail`), switching replicas when a
 * stream ends or fails and resuming after the last event delivered. Returns when `signal`
 * aborts; throws a request's refusal, or the last failure once `giveUpMs` passed without a
 * working stream.
 */
export async function followEvents(
  src: EventStreamSource,
  req: { sys: string; after?: bigint; ranks?: string; tail?: number },
  opts: FollowOptions,
): Promise<void> {
  if (opts.hosts.length === 0) throw new Error("no MS replicas to follow events from");
  let cursor = req.after ?? 0n;
  let tail = req.tail ?? 0;
  // Start of the current run of failures (null while streams work).
  let failingSince: number | null = null;
  for (let i = 0; !opts.signal.aborted; i++) {
    const addr = opts.hosts[i % opts.hosts.length];
    const opened = Date.now();
    try {
      const stream = src.followEvents(
        addr,
        create(SystemFollowEventsReqSchema, {
          sys: req.sys,
          after: cursor,
          ranks: req.ranks,
          tail,
        }),
        opts.signal,
      );
      for await (const e of stream) {
        failingSince = null;
        if (e.seq <= cursor) continue; // never twice, whatever a server sends
        cursor = e.seq;
        tail = 0; // resumed streams start after the cursor
        opts.onEvent(e);
      }
    } catch (raw) {
      if (opts.signal.aborted) return;
      const err = decodeRemoteError(raw);
      if (!retryable(err, raw)) throw err;
      // A stream that ran a while before failing worked: the count of failures starts anew.
      const now = Date.now();
      if (failingSince === null || now - opened > 1000) failingSince = now;
      if (now - failingSince > opts.giveUpMs) throw err;
      opts.onRetry?.(addr, err);
    }
    await new Promise((r) => setTimeout(r, opts.retryDelayMs ?? 250));
  }
}
