/**
 * Size limits of control-plane messages, on both sides of every call (server.md §7; DAOS
 * relies on gRPC's 4 MiB default). Without them a 32 MiB request raised a daos_server to
 * 1.2 GB RSS and stalled every other call for seconds.
 *
 * Sized from the largest legitimate messages at 10 000 ranks (measured by
 * message_limits_test.ts, which fails when they outgrow the headroom):
 * - requests: CtlSvc.GroupUpdate with 10k engines is ~0.57 MB, every other request is small;
 * - responses: SystemQueryResp with 10k members is ~2.3 MB (4.9 MB if every member carries a
 *   256-character reason), SystemStop/StartResp ~0.7 MB (3.3 MB with 256-character messages).
 */
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";

/** Largest request message a server reads and a client sends: 4 MiB (DAOS's gRPC default). */
export const MAX_REQUEST_BYTES = 4 * 1024 * 1024;

/** Largest response message a server writes and a client reads: 16 MiB. */
export const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

/** Formats a byte count in MiB for error texts ("4 MiB"). */
export function mib(bytes: number): string {
  return `${Math.round((bytes / (1024 * 1024)) * 10) / 10} MiB`;
}

/**
 * Client interceptor: Connect's limit errors ("message size N is larger than configured
 * writeMaxBytes M"), raised on either side, become texts naming the call, the host and the
 * limit; the code stays RESOURCE_EXHAUSTED. The limit tells the message: requests have
 * MAX_REQUEST_BYTES on both sides, responses MAX_RESPONSE_BYTES.
 */
export function messageLimitCheck(target: string): Interceptor {
  return (next) => async (req) => {
    try {
      return await next(req);
    } catch (e) {
      const ce = ConnectError.from(e);
      const m = /message size (\d+ )?is larger than configured (?:read|write)MaxBytes (\d+)/
        .exec(ce.rawMessage);
      if (ce.code !== Code.ResourceExhausted || !m) throw e;
      const size = m[1] ? ` of ${m[1].trim()} bytes` : "";
      const limit = Number(m[2]);
      const what = limit === MAX_RESPONSE_BYTES ? "response from" : "request to";
      throw new ConnectError(
        `the ${req.method.name} ${what} ${target}${size} is larger than the control-plane ` +
          `message limit of ${mib(limit)} (${limit} bytes)`,
        Code.ResourceExhausted,
        undefined,
        undefined,
        e,
      );
    }
  };
}
