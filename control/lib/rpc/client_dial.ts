/**
 * The client side of one control-port connection: dialing with a connect timeout, and telling
 * a plain-text client that the server it reached wants TLS (the server's answer to our h2c
 * preface is a TLS alert followed by a close, which otherwise surfaces as a bare "connection
 * closed" or EPIPE, depending on which side of the race the client loses).
 */
import * as net from "node:net";
import * as nodeTls from "node:tls";
import type { PeerCertificate } from "node:tls";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { FaultCode } from "../fault.ts";
import { connectionFailure, SERVER_IDENTITY_ERROR, SERVER_REQUIRES_TLS } from "./conn_errors.ts";
import type { TlsMaterial } from "./security_certs.ts";

/** Time allowed to set up a new client session (dmg.md §3.3: then fault 508). */
export const CONNECT_TIMEOUT_MS = 5_000;

/**
 * Replaces the hostname check: DAOS certificates carry no host names, so the only identity
 * requirement on a server is CN == `server` (the chain is still verified against the CA).
 */
export function checkServerIdentity(_host: string, cert: PeerCertificate): Error | undefined {
  return cert?.subject?.CN === "server" ? undefined : new Error(SERVER_IDENTITY_ERROR);
}

/** What the latest plain-text socket to one host got from the server. */
export interface PlainAnswer {
  /** Any byte arrived. */
  bytes: boolean;
  /** The first bytes were a TLS record. */
  tls: boolean;
}

function hostPort(target: string): { host: string; port: number } {
  const colon = target.lastIndexOf(":");
  return { host: target.slice(0, colon), port: Number(target.slice(colon + 1)) };
}

/**
 * The socket of one client session, destroyed with ETIMEDOUT unless the server proves alive
 * within `timeoutMs`: TLS by completing the handshake, h2c by sending its first bytes (its
 * SETTINGS frame). A TCP connect alone is not enough: a stopped process still gets its
 * connections accepted by the kernel. Without this, a vanished host costs the kernel's SYN
 * retries (minutes) and a stopped one the whole request deadline. `answer` (plain text only)
 * is updated with what the server sent.
 *
 * TLS 1.2 on the client side on purpose: with TLS 1.3 the client sees the handshake complete
 * before the server has judged its certificate, so a refused certificate arrives later as a
 * stray session error (an uncaught exception in Deno) instead of failing the handshake. The
 * session reports socket errors to the caller; the no-op listener only keeps a late duplicate
 * from ending the process.
 */
export function dial(
  target: string,
  material: TlsMaterial | undefined,
  timeoutMs: number,
  answer?: PlainAnswer,
): net.Socket {
  const { host, port } = hostPort(target);
  const socket = material
    ? nodeTls.connect({
      host,
      port,
      ca: material.ca,
      cert: material.cert || undefined,
      key: material.key || undefined,
      minVersion: "TLSv1.2",
      maxVersion: "TLSv1.2",
      ALPNProtocols: ["h2"],
      checkServerIdentity,
    })
    : net.connect({ host, port });
  socket.on("error", () => {});
  const timer = setTimeout(() => {
    const message = `connect ETIMEDOUT ${target}: no answer within ${timeoutMs} ms`;
    socket.destroy(Object.assign(new Error(message), { code: "ETIMEDOUT" }));
  }, timeoutMs);
  const alive = () => clearTimeout(timer);
  socket.once("close", alive);
  if (material) {
    socket.once("secureConnect", alive);
    return socket;
  }
  if (answer) {
    answer.bytes = false;
    answer.tls = false;
  }
  socket.once("data", (chunk: Uint8Array) => {
    alive();
    // A TLS record (alert 0x15 or handshake 0x16, version 3.x) instead of HTTP/2 SETTINGS:
    // the server wants TLS and has already refused our plain-text preface.
    const tls = (chunk[0] === 0x15 || chunk[0] === 0x16) && chunk[1] === 0x03;
    if (answer) {
      answer.bytes = true;
      answer.tls = tls;
    }
    if (tls) {
      const err = new Error(`${target} answered with TLS`);
      socket.destroy(Object.assign(err, { code: SERVER_REQUIRES_TLS }));
    }
  });
  return socket;
}

/**
 * True when `target` completes (or refuses with a TLS alert) a TLS handshake, i.e. it speaks
 * TLS; false on anything else, at the latest after `timeoutMs`. Certificates are not checked:
 * only the protocol matters here.
 */
export function speaksTls(target: string, timeoutMs: number): Promise<boolean> {
  const { host, port } = hostPort(target);
  return new Promise((resolve) => {
    const socket = nodeTls.connect({
      host,
      port,
      rejectUnauthorized: false,
      ALPNProtocols: ["h2"],
    });
    const done = (yes: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(yes);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once("secureConnect", () => done(true));
    socket.on("error", (e: Error & { code?: string }) => {
      // An alert from the server (e.g. "certificate required") is TLS too; a plain-text
      // server's bytes fail the record layer instead ("wrong version number").
      const alert = /alert/i.test(e.message) || (e.code ?? "").includes("ALERT");
      done(alert && !/wrong version number/i.test(e.message));
    });
  });
}

/**
 * Names what a failed call to `target` really met. A session that dies under a call surfaces
 * as a cancelled stream, which would read as the caller's own timeout: it becomes "connection
 * closed" (fault 507) unless the caller did cancel. For a plain-text client (`answer` given),
 * a server that closed before saying anything in HTTP/2 is then probed for TLS, and the call
 * fails with SERVER_REQUIRES_TLS (conn_errors.ts names the fix) when it speaks TLS.
 */
export function sessionLossCheck(
  target: string,
  timeoutMs: number,
  answer?: PlainAnswer,
): Interceptor {
  return (next) => async (req) => {
    try {
      return await next(req);
    } catch (e) {
      let err = e;
      const ce = ConnectError.from(e);
      if (ce.code === Code.Canceled && !req.signal.aborted) {
        err = new ConnectError(
          `connection closed by the server (${ce.rawMessage})`,
          Code.Unavailable,
          undefined,
          undefined,
          e,
        );
      }
      if (!answer) throw err;
      const closed = connectionFailure(err, target)?.code === FaultCode.ClientConnectionClosed;
      if (closed && !answer.bytes && await speaksTls(target, timeoutMs)) answer.tls = true;
      if (answer.tls) {
        const cause = Object.assign(new Error(`${target} speaks TLS`), {
          code: SERVER_REQUIRES_TLS,
        });
        throw new ConnectError(cause.message, Code.Unavailable, undefined, undefined, cause);
      }
      throw err;
    }
  };
}
