/**
 * Control-plane transport set-up, for both sides, in one place: the HTTP/2 listener that
 * serves Connect + gRPC on the control port, and the per-host client transports.
 *
 * Insecure mode is h2c (prior knowledge). Secure mode is mutual TLS (server.md §7.2, TLS 1.3
 * here): the listener requires a client certificate signed by the CA and hands the CN's
 * component to handlers as PEER_COMPONENT; clients verify the server chain against the CA
 * without a hostname check and require the server certificate's CN to be `server`.
 */
import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import { EventEmitter } from "node:events";
import * as http2 from "node:http2";
import type { Socket } from "node:net";
import * as nodeTls from "node:tls";
import type { TLSSocket } from "node:tls";
import {
  type ConnectRouter,
  type ContextValues,
  createContextValues,
  type Interceptor,
  type Transport,
} from "@connectrpc/connect";
import {
  connectNodeAdapter,
  createConnectTransport,
  Http2SessionManager,
} from "@connectrpc/connect-node";
import { type ConnContext, SERVER_IDENTITY_ERROR } from "./conn_errors.ts";
import { BaseInvoker, type UnaryCall } from "../control/invoker.ts";
import {
  checkServerIdentity,
  CONNECT_TIMEOUT_MS,
  dial,
  type PlainAnswer,
  sessionLossCheck,
} from "./client_dial.ts";
import { diagnoseClientCert } from "./client_cert_check.ts";
import { createLightTransport } from "./light_transport.ts";
import { MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES, messageLimitCheck } from "./message_limits.ts";
import { type Component, componentFromCommonName } from "./security_authz.ts";
import { daosHeaders, PEER_COMPONENT, peerComponent } from "./security_interceptor.ts";
import {
  type CertPaths,
  checkCertDir,
  loadTlsMaterial,
  type TlsMaterial,
} from "./security_certs.ts";

/** Transport security settings shared by server and client. */
export interface TransportSecurity {
  /** Plain-text HTTP/2 (h2c) without certificates. */
  allowInsecure: boolean;
  /** Own certificate, key and CA (see loadTlsMaterial); required unless allowInsecure. */
  tls?: TlsMaterial;
  /** Where `tls` was loaded from: named in TLS error messages (conn_errors.ts). */
  paths?: CertPaths;
}

/** Thrown when a transport is requested without what it needs (secure mode without TLS). */
export class TransportUnsupportedError extends Error {}

function requireTls(security: TransportSecurity): TlsMaterial | undefined {
  if (security.allowInsecure) return undefined;
  if (!security.tls) {
    throw new TransportUnsupportedError(
      "secure transport needs certificates: load transport_config with loadTransportSecurity " +
        "(or set transport_config.allow_insecure: true / use --insecure)",
    );
  }
  return security.tls;
}

/**
 * The transport security of a `transport_config`: nothing to load when insecure, else the
 * certificates, verified now (faults 901–903), and `client_cert_dir` when set. `maxKeyPerm`
 * is the key's mode limit (MaxPerm.userOnlyKey for servers and agents, MaxPerm.groupKey for
 * admin).
 */
export async function loadTransportSecurity(
  tc: CertPaths & { allowInsecure: boolean; clientCertDir?: string },
  maxKeyPerm: number,
): Promise<TransportSecurity> {
  if (tc.allowInsecure) return { allowInsecure: true };
  const tls = await loadTlsMaterial(tc, maxKeyPerm);
  if (tc.clientCertDir) await checkCertDir(tc.clientCertDir);
  return { allowInsecure: false, tls, paths: { caCert: tc.caCert, cert: tc.cert, key: tc.key } };
}

export { checkServerIdentity, CONNECT_TIMEOUT_MS, SERVER_IDENTITY_ERROR };

function peerCommonName(req: { socket: unknown }): string | undefined {
  const sock = req.socket as Partial<TLSSocket> | null;
  if (!sock || typeof sock.getPeerCertificate !== "function") return undefined;
  if (sock.authorized === false) return undefined;
  const cn = sock.getPeerCertificate()?.subject?.CN;
  return typeof cn === "string" ? cn : undefined;
}

/** "ip:port" of a TLS peer (Deno's TLS socket may know it only through the TCP socket). */
function peerAddress(socket: TLSSocket): string {
  const parent = (socket as { _parent?: { remoteAddress?: string; remotePort?: number } })
    ._parent;
  const ip = (socket.remoteAddress ?? parent?.remoteAddress)?.replace(/^::ffff:/, "");
  const port = socket.remotePort ?? parent?.remotePort;
  if (ip === undefined) return "unknown peer";
  return port === undefined ? ip : `${ip}:${port}`;
}

/** A running control-port listener. */
export interface ControlListener {
  /** The address actually bound, as "ip:port". */
  readonly address: string;
  /** HTTP/2 sessions (client connections) accepted so far. */
  sessionCount(): number;
  /** Stops accepting, closes open sessions and resolves when the socket is closed. */
  close(): Promise<void>;
}

/**
 * Binds the control port on `host:port` and serves the routes with the Connect, gRPC and
 * gRPC-web protocols. Rejects with the listen error (EADDRINUSE, EADDRNOTAVAIL, …).
 */
export async function listenControl(
  opts: {
    host: string;
    port: number;
    security: TransportSecurity;
    routes: (router: ConnectRouter) => void;
    interceptors?: Interceptor[];
    /**
     * Told about each refused TLS handshake with the peer's address, the cause (no client
     * certificate, expired, not yet valid, another CA, …) and the fix.
     */
    onHandshakeError?: (message: string) => void;
    /** Per-request context values, e.g. the caller's IP (see handlers/mgmt_join.ts peerHostKey). */
    contextValues?: (peerIp: string) => ContextValues;
  },
): Promise<ControlListener> {
  const tls = requireTls(opts.security);
  const cv = opts.contextValues;
  const handler = connectNodeAdapter({
    routes: opts.routes,
    interceptors: opts.interceptors,
    // An oversized request is refused from its length (header or envelope prefix) with
    // RESOURCE_EXHAUSTED before its body is buffered (message_limits.ts).
    readMaxBytes: MAX_REQUEST_BYTES,
    writeMaxBytes: MAX_RESPONSE_BYTES,
    contextValues: (req) => {
      const values = cv
        ? cv((req.socket?.remoteAddress ?? "").replace(/^::ffff:/, ""))
        : createContextValues();
      // Only a verified certificate names a component; h2c callers have none.
      return values.set(PEER_COMPONENT, tls ? peerComponent(peerCommonName(req)) : undefined);
    },
  });
  const server = tls
    ? http2.createSecureServer({
      ca: tls.ca,
      cert: tls.cert,
      key: tls.key,
      requestCert: true,
      // Unverified clients are cut below, where the reason can still be named: rejecting
      // them in the handshake leaves nothing but "socket hang up" (client_cert_check.ts).
      rejectUnauthorized: false,
      minVersion: "TLSv1.2",
      allowHTTP1: true,
    }, handler)
    : http2.createServer(handler);
  if (tls) {
    const report = opts.onHandshakeError ?? (() => {});
    const caPath = opts.security.paths?.caCert;
    // Runs before node:http2's own listener, so no session ever starts on such a socket.
    server.prependListener("secureConnection", (socket: TLSSocket) => {
      if (socket.authorized) return;
      const peerCert = socket.getPeerCertificate(true) as { raw?: Uint8Array } | null;
      const problem = diagnoseClientCert(peerCert?.raw, tls.ca, {
        fallback: String(socket.authorizationError ?? ""),
        caPath,
      });
      socket.destroy();
      report(
        `TLS handshake with ${peerAddress(socket)} refused (${problem.code}): ${problem.text}`,
      );
    });
    server.on("tlsClientError", (err: Error, socket: nodeTls.TLSSocket) => {
      const peer = peerAddress(socket);
      const code = (err as { code?: string }).code;
      // Certificates are judged above, after the handshake: a hang-up here is the peer
      // leaving mid-handshake (a port probe, a client that gave up), not a refusal.
      if (err.message === "socket hang up" || code === "ECONNRESET") {
        report(`TLS handshake with ${peer} abandoned: the peer closed the connection first`);
      } else {
        report(`TLS handshake with ${peer} refused: ${err.message}`);
      }
    });
  }
  const sessions = new Set<http2.ServerHttp2Session>();
  // Raw connections, to drop at close() without a GOAWAY (see there).
  const conns = new Set<Socket>();
  server.on("connection", (c: Socket) => {
    conns.add(c);
    c.on("close", () => conns.delete(c));
  });
  let accepted = 0;
  server.on("session", (s: http2.ServerHttp2Session) => {
    accepted++;
    sessions.add(s);
    s.on("close", () => sessions.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once("error", onError);
    server.listen(opts.port, opts.host, () => {
      server.off("error", onError);
      resolve();
    });
  });
  const bound = server.address();
  const address = typeof bound === "object" && bound
    ? `${bound.address}:${bound.port}`
    : `${opts.host}:${opts.port}`;
  return {
    address,
    sessionCount: () => accepted,
    close: () =>
      new Promise<void>((resolve) => {
        // Idle client sessions would keep close() pending until they time out. They are cut
        // at the TCP level, not closed with a GOAWAY: receiving GOAWAY crashes Deno's
        // node:http2 client now and then (nghttp2 assertion `stream->closed_next == NULL` or
        // SIGSEGV), which took down peers of a stopping daos_server; a reset connection is
        // handled like a dead server, and the client reconnects.
        for (const c of conns) c.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Options for client transports. */
export interface ClientTransportOptions {
  security: TransportSecurity;
  /**
   * Component sent as `x-daos-component` (with `x-daos-version`) on every call; defaults to
   * the CN of the own certificate in secure mode. In secure mode the server requires it to
   * equal that CN.
   */
  component?: Component;
  /** Extra interceptors (run after the DAOS headers are set). */
  interceptors?: Interceptor[];
  /** Time allowed to set up a session with a host (default CONNECT_TIMEOUT_MS). */
  connectTimeoutMs?: number;
  /**
   * While calls are open on a session, an HTTP/2 PING after this much silence (default
   * PING_INTERVAL_MS); no answer within the connect timeout ends the session and its calls
   * (fault 508). A host that vanishes mid-call costs this bound instead of the call deadline.
   */
  pingIntervalMs?: number;
}

/**
 * Gives the HTTP/2 session bound to `socket` a permanent "error" listener. connect-node's
 * session manager removes its listeners from a session it leaves (closed by the pool, replaced
 * after a failed PING, abandoned while connecting), but node:http2 emits destroy(err)'s error
 * on a later tick: a PING timeout ("PING timed out") or a dial timeout then surfaced as an
 * uncaught exception, able to end a daos_server. The manager already failed the calls
 * concerned, so the late copy is dropped. The session is found through the socket's bound
 * session (node:http2's kBoundSession, set by http2.connect); transport_ping_test.ts fails if
 * that ever stops working.
 */
function guardLateErrors(socket: object): void {
  for (const key of Object.getOwnPropertySymbols(socket)) {
    if (key.description !== "kBoundSession") continue;
    const session = (socket as Record<symbol, unknown>)[key];
    if (session instanceof EventEmitter) session.on("error", () => {});
  }
}

/** Default silence on a session with open calls before a PING checks the peer. */
export const PING_INTERVAL_MS = 10_000;

/**
 * Client transports keyed by "host:port", one HTTP/2 session per host, reused across calls
 * until close(); the control API's Invoker over them (control/lib/control/invoker.ts). A
 * secure pool without certificates can be built but every get() throws
 * TransportUnsupportedError: a server that has not been handed its certificates still starts
 * and serves, and only its own outgoing calls fail, each with that explanation.
 */
export class TransportPool extends BaseInvoker {
  readonly #transports = new Map<string, { transport: Transport; session: Http2SessionManager }>();

  readonly #tls: TlsMaterial | undefined;
  readonly #connectTimeoutMs: number;
  readonly #pingIntervalMs: number;
  readonly #unusable: TransportUnsupportedError | undefined;
  readonly #interceptors: Interceptor[];

  /** The pool's security as connection errors describe it (conn_errors.ts). */
  override readonly connContext: ConnContext;

  constructor(opts: ClientTransportOptions) {
    super();
    const positive = (what: string, ms: number) => {
      if (!(ms > 0) || !Number.isFinite(ms)) {
        throw new RangeError(`invalid ${what} ${ms} ms: must be a positive number`);
      }
      return ms;
    };
    this.#connectTimeoutMs = positive(
      "connect timeout",
      opts.connectTimeoutMs ?? CONNECT_TIMEOUT_MS,
    );
    this.#pingIntervalMs = positive("ping interval", opts.pingIntervalMs ?? PING_INTERVAL_MS);
    try {
      this.#tls = requireTls(opts.security);
    } catch (e) {
      if (!(e instanceof TransportUnsupportedError)) throw e;
      this.#unusable = e;
    }
    this.connContext = {
      secure: !opts.security.allowInsecure,
      paths: opts.security.paths,
      clientCert: this.#tls === undefined ? undefined : this.#tls.cert !== "",
    };
    const cn = this.#tls?.commonName;
    const component = opts.component ??
      (cn === undefined ? undefined : componentFromCommonName(cn));
    this.#interceptors = [
      ...(component ? [daosHeaders(component)] : []),
      ...(opts.interceptors ?? []),
    ];
  }

  /** The transport for `target` ("host:port"), created on first use. */
  get(target: string): Transport {
    if (this.#unusable) throw this.#unusable;
    let entry = this.#transports.get(target);
    if (!entry) {
      const tls = this.#tls;
      const baseUrl = `${tls ? "https" : "http"}://${target}`;
      const timeout = this.#connectTimeoutMs;
      const answer: PlainAnswer = { bytes: false, tls: false };
      const session = new Http2SessionManager(baseUrl, {
        pingIntervalMs: this.#pingIntervalMs,
        pingTimeoutMs: timeout,
      }, {
        createConnection: () => {
          const socket = dial(target, tls, timeout, answer);
          // http2.connect() binds its session to the socket right after this returns.
          queueMicrotask(() => guardLateErrors(socket));
          return socket;
        },
      });
      const interceptors = [
        // Outermost, so that it sees the transport's own failure.
        sessionLossCheck(target, timeout, tls ? undefined : answer),
        messageLimitCheck(target),
        ...this.#interceptors,
      ];
      const streaming = createConnectTransport({
        httpVersion: "2",
        baseUrl,
        useBinaryFormat: true,
        // The server's limits seen from this side: an oversized request fails here, unsent.
        writeMaxBytes: MAX_REQUEST_BYTES,
        readMaxBytes: MAX_RESPONSE_BYTES,
        interceptors,
        sessionManager: session,
      });
      // Unary calls (all but event streams) skip connect-node's per-call machinery, the
      // cost of wide fan-outs (light_transport.ts); same sessions, interceptors, limits.
      const transport = createLightTransport({
        baseUrl,
        sessionManager: session,
        interceptors,
        writeMaxBytes: MAX_REQUEST_BYTES,
        readMaxBytes: MAX_RESPONSE_BYTES,
        streaming,
      });
      entry = { transport, session };
      this.#transports.set(target, entry);
    }
    return entry.transport;
  }

  /** One call over the transport of `c.addr` (see BaseInvoker.unary). */
  protected override async call<I extends DescMessage, O extends DescMessage>(
    c: UnaryCall<I, O>,
  ): Promise<MessageShape<O>> {
    const { signal, timeoutMs, headers, contextValues } = c.opts;
    const transport = this.get(c.addr);
    const resp = await transport.unary(
      c.method,
      signal,
      timeoutMs,
      headers,
      c.request,
      contextValues,
    );
    return resp.message;
  }

  /** Number of hosts with a transport. */
  get size(): number {
    return this.#transports.size;
  }

  /** Closes every session (in-flight calls fail) and forgets the transports. */
  close(): void {
    for (const { session } of this.#transports.values()) session.abort();
    this.#transports.clear();
  }
}
