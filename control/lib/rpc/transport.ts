/**
 * Control-plane transport set-up, for both sides, in one place: the HTTP/2 listener that
 * serves Connect + gRPC on the control port, and the per-host client transports.
 *
 * Only insecure mode (h2c, prior knowledge) exists today; mutual TLS will be added here
 * (createSecureServer / secure session options) without touching callers.
 */
import * as http2 from "node:http2";
import type {
  ConnectRouter,
  ContextValues,
  Interceptor,
  Transport,
} from "@connectrpc/connect";
import {
  connectNodeAdapter,
  createConnectTransport,
  Http2SessionManager,
} from "@connectrpc/connect-node";

/** Transport security settings shared by server and client. */
export interface TransportSecurity {
  /** Plain-text HTTP/2 (h2c) without certificates. */
  allowInsecure: boolean;
}

/** Thrown when a transport mode is requested that this build cannot provide. */
export class TransportUnsupportedError extends Error {}

function requireInsecure(security: TransportSecurity): void {
  if (!security.allowInsecure) {
    throw new TransportUnsupportedError(
      "secure transport (mutual TLS) is not implemented yet; " +
        "set transport_config.allow_insecure: true (or use --insecure)",
    );
  }
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
    /** Per-request context values, e.g. the caller's IP (see mgmt/service.ts peerHostKey). */
    contextValues?: (peerIp: string) => ContextValues;
  },
): Promise<ControlListener> {
  requireInsecure(opts.security);
  const cv = opts.contextValues;
  const handler = connectNodeAdapter({
    routes: opts.routes,
    interceptors: opts.interceptors,
    contextValues: cv
      ? (req) => cv((req.socket?.remoteAddress ?? "").replace(/^::ffff:/, ""))
      : undefined,
  });
  const server = http2.createServer(handler);
  const sessions = new Set<http2.ServerHttp2Session>();
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
        server.close(() => resolve());
        // Idle client sessions would keep close() pending until they time out.
        for (const s of sessions) s.close();
      }),
  };
}

/** Options for client transports. */
export interface ClientTransportOptions {
  security: TransportSecurity;
  /** Extra interceptors, e.g. the x-daos-component / x-daos-version headers. */
  interceptors?: Interceptor[];
}

/**
 * Client transports keyed by "host:port", one HTTP/2 session per host, reused across calls
 * until close().
 */
export class TransportPool {
  readonly #opts: ClientTransportOptions;
  readonly #transports = new Map<string, { transport: Transport; session: Http2SessionManager }>();

  constructor(opts: ClientTransportOptions) {
    requireInsecure(opts.security);
    this.#opts = opts;
  }

  /** The transport for `target` ("host:port"), created on first use. */
  get(target: string): Transport {
    let entry = this.#transports.get(target);
    if (!entry) {
      const baseUrl = `http://${target}`;
      const session = new Http2SessionManager(baseUrl);
      const transport = createConnectTransport({
        httpVersion: "2",
        baseUrl,
        useBinaryFormat: true,
        interceptors: this.#opts.interceptors,
        sessionManager: session,
      });
      entry = { transport, session };
      this.#transports.set(target, entry);
    }
    return entry.transport;
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
