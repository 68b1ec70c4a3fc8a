/**
 * The audit hook of the control server's interceptor chain: each call of an audited method
 * (mgmt/ops/audit.ts AUDITED_METHODS) becomes an audit record handed to `sink` once it ended,
 * whatever its outcome, refused access included. Calls the client will repeat elsewhere (not
 * the leader, not a replica, the MS not ready) are no action and are not recorded.
 */
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { errorText } from "../lib/fault.ts";
import { decodeRemoteError, isMsRetryable, RemoteError } from "../lib/rpc/error_codec.ts";
import { COMPONENT_HEADER, PEER_COMPONENT } from "../lib/rpc/security_interceptor.ts";
import { type AuditRecord, auditRecord, auditTarget, isAudited } from "../mgmt/ops/audit.ts";
import { peerHostKey } from "./mgmt_join.ts";

/** Options of {@link auditInterceptor}. */
export interface AuditHookOptions {
  /** True when callers present verified certificates (their CN is "who"). */
  secure: boolean;
  /** This server's control address (the record's `server`). */
  server: string;
  /** Where records go (the MS leader's log, or forwarded to it); must not throw or block. */
  sink(r: AuditRecord): void;
  /** The time stamped on records (tests fix it). */
  now?: () => string;
}

/** True for an error after which the client retries the call (elsewhere or later). */
function redirected(e: unknown): boolean {
  return isMsRetryable(decodeRemoteError(e));
}

/** The outcome text of a failed call: a typed error's text, else the status and message. */
function failureText(e: unknown): string {
  const typed = decodeRemoteError(e);
  if (!(typed instanceof RemoteError)) return errorText(typed);
  const ce = ConnectError.from(e);
  return ce.code === Code.Unknown ? ce.rawMessage : `${Code[ce.code]}: ${ce.rawMessage}`;
}

/** Interceptor recording every audited call (place it outside the access check). */
export function auditInterceptor(opts: AuditHookOptions): Interceptor {
  const now = opts.now ?? (() => new Date().toISOString());
  return (next) => async (req) => {
    const method = `/${req.method.parent.typeName}/${req.method.name}`;
    if (!isAudited(method) || req.stream) return await next(req);
    const cert = req.contextValues.get(PEER_COMPONENT);
    const record = (error?: unknown) => {
      try {
        opts.sink(auditRecord({
          time: now(),
          who: opts.secure ? (cert ?? "unverified") : "insecure",
          component: opts.secure
            ? (cert ?? "unknown")
            : (req.header.get(COMPONENT_HEADER) ?? "unknown"),
          peer: req.contextValues.get(peerHostKey),
          method,
          target: auditTarget(method, req.message, opts.server),
          error: error === undefined ? undefined : failureText(error),
          server: opts.server,
        }));
      } catch { /* the sink's problem must not become the call's */ }
    };
    try {
      const res = await next(req);
      record();
      return res;
    } catch (e) {
      if (!redirected(e)) record(e);
      throw e;
    }
  };
}
