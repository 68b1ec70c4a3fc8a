/**
 * Maps transport failures of one host to DAOS's client fault codes and wording
 * (dmg.md §3.3), so that scripts matching DAOS's messages keep working, and TLS failures to
 * security faults that name the cause and the fix (a raw `unable to verify the first
 * certificate` tells an operator nothing about which setting is wrong).
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { type Fault, FaultCode, faults, makeFault } from "../fault.ts";

/** Error code of a socket destroyed because a plain-text (h2c) client met a TLS server. */
export const SERVER_REQUIRES_TLS = "ERR_DAOS_SERVER_REQUIRES_TLS";

/** The message a client gives when the server's certificate CN is not `server`. */
export const SERVER_IDENTITY_ERROR = "Server certificate does not identify as Server";

/** What the client side knows about its own transport, for TLS messages. */
export interface ConnContext {
  /** The client talks TLS. */
  secure: boolean;
  /** Configured certificate files, when known. */
  paths?: { caCert: string; cert: string };
  /** False when the client has no certificate of its own to present. */
  clientCert?: boolean;
}

function errnoCodes(err: unknown): string[] {
  const codes: string[] = [];
  for (let e: unknown = err, depth = 0; e && depth < 5; depth++) {
    if (typeof e === "object" && e !== null && "code" in e && typeof e.code === "string") {
      codes.push(e.code);
    }
    e = e instanceof Error ? e.cause : undefined;
  }
  return codes;
}

const CA_FIX = "use the CA certificate that signed the servers' certificates as ca_cert, " +
  "or re-issue the server certificate from this CA";

/**
 * A TLS-level failure for `target`, as a security fault whose description names the cause and
 * the fix, or undefined when `err` is no TLS problem.
 */
export function tlsFailure(err: unknown, target: string, ctx: ConnContext): Fault | undefined {
  const ce = ConnectError.from(err);
  const codes = errnoCodes(err);
  const text = `${ce.rawMessage} ${codes.join(" ")}`;
  const has = (...needles: string[]) => needles.some((n) => text.includes(n));
  const ca = ctx.paths ? ` (${ctx.paths.caCert})` : "";
  const cert = ctx.paths ? ` (${ctx.paths.cert})` : "";
  const fault = (code: number, cause: string, fix: string) =>
    makeFault(code, `${cause}: ${fix}`, fix, err);

  if (has(SERVER_REQUIRES_TLS)) {
    return fault(
      FaultCode.SecurityUnknown,
      `the server at ${target} requires TLS`,
      "remove --insecure / set transport_config.allow_insecure: false and configure certificates",
    );
  }
  if (!ctx.secure) return undefined;
  if (has("ERR_SSL_WRONG_VERSION_NUMBER", "wrong version number", "InvalidContentType")) {
    return fault(
      FaultCode.SecurityUnknown,
      `the server at ${target} does not use TLS (it runs with allow_insecure: true)`,
      "use --insecure / set transport_config.allow_insecure: true, or configure the server " +
        "with certificates",
    );
  }
  if (has(SERVER_IDENTITY_ERROR)) {
    return fault(
      FaultCode.SecurityInvalidCert,
      `${SERVER_IDENTITY_ERROR} (the server at ${target} presented a certificate whose ` +
        `CN is not "server")`,
      "configure the server with its server certificate (CN server, e.g. server.crt from " +
        "gen_certificates.sh)",
    );
  }
  if (has("CERT_HAS_EXPIRED", "certificate has expired", "CERT_NOT_YET_VALID")) {
    return fault(
      FaultCode.SecurityInvalidCert,
      `invalid certificate: the certificate of the server at ${target} has expired or is not ` +
        "valid yet",
      "re-issue the server certificate and check the clocks of client and server",
    );
  }
  if (
    has(
      "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
      "UNABLE_TO_GET_ISSUER_CERT",
      "SELF_SIGNED_CERT_IN_CHAIN",
      "DEPTH_ZERO_SELF_SIGNED_CERT",
      "CERT_SIGNATURE_FAILURE",
      "unable to verify",
      "UnknownIssuer",
      "self-signed certificate",
    )
  ) {
    return fault(
      FaultCode.SecurityInvalidCert,
      `the certificate of the server at ${target} is not signed by the configured CA${ca}`,
      CA_FIX,
    );
  }
  // The server may close without an alert (it names the cause in its own log), so a client
  // that sent no certificate knows the cause itself.
  const refusedHandshake = has(
    "before secure TLS connection was established",
    "BadCertificate",
    "bad certificate",
    "UnknownCA",
    "unknown ca",
    "DecryptError",
    "AccessDenied",
  );
  if (
    has("CertificateRequired", "certificate required") ||
    (refusedHandshake && ctx.clientCert === false)
  ) {
    return fault(
      FaultCode.SecurityUnknown,
      `the server at ${target} requires a client certificate and none was sent`,
      "set transport_config.cert and key to a certificate signed by the servers' CA",
    );
  }
  if (refusedHandshake) {
    return fault(
      FaultCode.SecurityUnknown,
      `the server at ${target} refused the TLS handshake, most likely this client's ` +
        `certificate${cert}`,
      "use a client certificate signed by the CA the server trusts (its ca_cert), with the " +
        "clientAuth key usage",
    );
  }
  return undefined;
}

/**
 * Recognises a connection-level failure for `target` ("host:port") and returns the matching
 * fault, or undefined when the error is not a transport problem (e.g. a server error). TLS
 * failures are recognised first when `ctx` is given.
 */
export function connectionFailure(
  err: unknown,
  target: string,
  ctx: ConnContext = { secure: false },
): Fault | undefined {
  const tls = tlsFailure(err, target, ctx);
  if (tls) return tls;
  const ce = ConnectError.from(err);
  const text = `${ce.rawMessage} ${errnoCodes(err).join(" ")}`;
  const has = (...needles: string[]) => needles.some((n) => text.includes(n));
  let fault: Fault | undefined;
  if (has("ECONNREFUSED", "connection refused")) {
    fault = faults.ClientConnectionRefused(target);
  } else if (has("ENOTFOUND", "EAI_AGAIN", "EAI_NONAME", "no such host")) {
    fault = faults.ClientConnectionBadHost(target);
  } else if (has("EHOSTUNREACH", "ENETUNREACH", "no route to host")) {
    fault = faults.ClientConnectionNoRoute(target);
  } else if (has("ETIMEDOUT", "i/o timeout", "PING timed out")) {
    fault = faults.ClientConnectionTimedOut(target);
  } else if (
    has("ECONNRESET", "EPIPE", "ERR_HTTP2_GOAWAY_SESSION", "ERR_HTTP2_SESSION_ERROR") ||
    has("connection closed", "transport is closing", "closed the connection") ||
    (ce.code === Code.Unavailable && has("socket hang up", "session closed"))
  ) {
    fault = faults.ClientConnectionClosed(target);
  }
  return fault;
}

/** True when `err` is the caller's deadline expiring (or the call being aborted). */
export function isDeadline(err: unknown): boolean {
  const ce = ConnectError.from(err);
  return ce.code === Code.DeadlineExceeded || ce.code === Code.Canceled;
}
