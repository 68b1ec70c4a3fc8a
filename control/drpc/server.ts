/**
 * dRPC server for `<socket_dir>/daos_server.sock` (spec/server.md §6.1, §6.5): accepts engine
 * up-calls over a Unix stream socket and dispatches each Call by module and method.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  type Call,
  CallSchema,
  type Response,
  ResponseSchema,
  Status,
} from "../../proto/gen/ts/drpc/drpc_pb.ts";
import { FaultCode, makeFault } from "../lib/fault.ts";
import {
  DEFAULT_MAX_MESSAGE_SIZE,
  FramingError,
  readMessage,
  StreamReader,
  writeMessage,
} from "./framing.ts";

/** Handles one method: gets the Call body, returns the Response body. */
export type DrpcHandler = (body: Uint8Array, call: Call) => Promise<Uint8Array> | Uint8Array;

/** Thrown by a handler to answer with a specific dRPC status (else FAILURE). */
export class DrpcHandlerError extends Error {
  override name = "DrpcHandlerError";
  constructor(readonly status: Status, message: string) {
    super(message);
  }
}

/** Where the server reports problems that have no caller to return to. */
export interface DrpcServerLog {
  error(msg: string): void;
  debug?(msg: string): void;
}

/** Options of a DrpcServer. */
export interface DrpcServerOptions {
  socketPath: string;
  log?: DrpcServerLog;
  /**
   * A connection must deliver each whole Call within this long of the previous one (or of its
   * accept), else it is dropped: a peer holding a partial header cannot hold the server.
   * Default {@link MESSAGE_TIMEOUT_MS}.
   */
  messageTimeoutMs?: number;
  /** Connections served at once; more are refused and logged. Default {@link MAX_CONNS}. */
  maxConns?: number;
  /** Largest message a call may announce; a larger one drops the connection. */
  maxMessageSize?: number;
}

/** Default bound on the wait for each whole Call (engines connect per up-call). */
export const MESSAGE_TIMEOUT_MS = 10_000;
/** Default bound on connections served at once. */
export const MAX_CONNS = 256;

const noLog: DrpcServerLog = { error: () => {} };

/** How long close() waits for handlers that are still running. */
const CLOSE_GRACE_MS = 2000;

/** Name of the server socket inside socket_dir. */
export const SERVER_SOCKET_NAME = "daos_server.sock";

/**
 * A dRPC server with per-module method tables. Register modules, then start(); close() stops
 * accepting, drops open connections and removes the socket file.
 */
export class DrpcServer {
  readonly socketPath: string;
  #log: DrpcServerLog;
  #maxMessageSize: number;
  #modules = new Map<number, Map<number, DrpcHandler>>();
  #listener: Deno.Listener | undefined;
  #conns = new Set<Deno.Conn>();
  #tasks = new Set<Promise<void>>();
  #acceptLoop: Promise<void> | undefined;
  #messageTimeoutMs: number;
  #maxConns: number;
  #accepted = 0;

  constructor(opts: DrpcServerOptions) {
    this.socketPath = opts.socketPath;
    this.#log = opts.log ?? noLog;
    this.#messageTimeoutMs = opts.messageTimeoutMs ?? MESSAGE_TIMEOUT_MS;
    this.#maxConns = opts.maxConns ?? MAX_CONNS;
    this.#maxMessageSize = opts.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
  }

  /** Registers a module; methods not in the table answer UNKNOWN_METHOD. */
  registerModule(id: number, methods: Record<number, DrpcHandler> = {}): void {
    if (this.#modules.has(id)) throw new Error(`dRPC module ${id} is already registered`);
    this.#modules.set(id, new Map(Object.entries(methods).map(([k, v]) => [Number(k), v])));
  }

  /**
   * Starts listening. A stale socket file is removed; a live one (something answers) is fault
   * 6 SocketFileInUse; a non-socket file at the path is refused.
   */
  async start(): Promise<void> {
    if (this.#listener) throw new Error("dRPC server already started");
    await removeStaleSocket(this.socketPath);
    this.#listener = Deno.listen({ transport: "unix", path: this.socketPath });
    await Deno.chmod(this.socketPath, 0o600);
    this.#acceptLoop = this.#accept(this.#listener);
  }

  /** Stops the server and removes its socket file. Safe to call twice. */
  async close(): Promise<void> {
    const l = this.#listener;
    if (!l) return;
    this.#listener = undefined;
    try {
      l.close();
    } catch { /* already closed */ }
    for (const c of this.#conns) {
      try {
        c.close();
      } catch { /* already closed */ }
    }
    await this.#acceptLoop;
    // Handlers still running (e.g. a slow event forward) get a short grace period only.
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.allSettled([...this.#tasks]),
      new Promise((r) => timer = setTimeout(r, CLOSE_GRACE_MS)),
    ]);
    clearTimeout(timer);
    await Deno.remove(this.socketPath).catch(() => {});
  }

  async #accept(listener: Deno.Listener): Promise<void> {
    while (true) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch (e) {
        if (this.#listener !== listener) return; // closed by us
        this.#log.error(`dRPC server ${this.socketPath}: accept failed: ${e}`);
        return;
      }
      const id = ++this.#accepted;
      if (this.#conns.size >= this.#maxConns) {
        this.#log.error(
          `dRPC server ${this.socketPath}: ${this.#conns.size} connections open, ` +
            `refusing connection #${id}`,
        );
        try {
          conn.close();
        } catch { /* already closed */ }
        continue;
      }
      this.#conns.add(conn);
      const t = this.#serve(conn, id).finally(() => {
        this.#conns.delete(conn);
        this.#tasks.delete(t);
      });
      this.#tasks.add(t);
    }
  }

  async #serve(conn: Deno.Conn, id: number): Promise<void> {
    const reader = new StreamReader(conn);
    const opened = Date.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let dropped = false;
    try {
      while (true) {
        // Closing the connection ends the pending read; the drop is logged with who it was.
        timer = setTimeout(() => {
          dropped = true;
          this.#log.error(
            `dRPC server ${this.socketPath}: dropping connection #${id} (open ` +
              `${Date.now() - opened} ms): no whole call within ${this.#messageTimeoutMs} ms`,
          );
          try {
            conn.close();
          } catch { /* already closed */ }
        }, this.#messageTimeoutMs);
        const raw = await readMessage(reader, this.#maxMessageSize);
        clearTimeout(timer);
        if (raw === null) return;
        const resp = await this.dispatch(raw);
        await writeMessage(conn, toBinary(ResponseSchema, resp));
      }
    } catch (e) {
      if (dropped) return;
      if (e instanceof FramingError) {
        this.#log.error(`dRPC server ${this.socketPath}: dropping connection: ${e.message}`);
      } else if (this.#listener !== undefined && !isClosedConn(e)) {
        this.#log.error(`dRPC server ${this.socketPath}: connection failed: ${e}`);
      }
    } finally {
      clearTimeout(timer);
      try {
        conn.close();
      } catch { /* already closed */ }
    }
  }

  /** Decodes one serialized Call and produces its Response (§6.5 dispatch rules). */
  async dispatch(raw: Uint8Array): Promise<Response> {
    let call: Call;
    try {
      call = fromBinary(CallSchema, raw);
    } catch (e) {
      this.#log.error(`dRPC server ${this.socketPath}: undecodable call: ${e}`);
      return create(ResponseSchema, { sequence: -1n, status: Status.FAILED_UNMARSHAL_CALL });
    }
    const reply = (status: Status, body: Uint8Array = new Uint8Array(0)) =>
      create(ResponseSchema, { sequence: call.sequence, status, body });
    const methods = this.#modules.get(call.module);
    if (!methods) return reply(Status.UNKNOWN_MODULE);
    const handler = methods.get(call.method);
    if (!handler) return reply(Status.UNKNOWN_METHOD);
    try {
      return reply(Status.SUCCESS, await handler(call.body, call));
    } catch (e) {
      this.#log.error(
        `dRPC module ${call.module} method ${call.method} failed: ${
          e instanceof Error ? e.message : e
        }`,
      );
      return reply(e instanceof DrpcHandlerError ? e.status : Status.FAILURE);
    }
  }
}

function isClosedConn(e: unknown): boolean {
  return e instanceof Deno.errors.BadResource || e instanceof Deno.errors.ConnectionReset ||
    e instanceof Deno.errors.BrokenPipe || e instanceof Deno.errors.Interrupted;
}

async function removeStaleSocket(path: string): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return;
    throw e;
  }
  if (!info.isSocket) {
    throw new Error(
      `dRPC socket path ${path} exists and is not a socket; remove it or choose another socket_dir`,
    );
  }
  try {
    const c = await Deno.connect({ transport: "unix", path });
    c.close();
  } catch (e) {
    if (e instanceof Deno.errors.ConnectionRefused || e instanceof Deno.errors.NotFound) {
      await Deno.remove(path).catch(() => {});
      return;
    }
    throw e;
  }
  throw makeFault(
    FaultCode.SocketFileInUse,
    `Configured instance socket file '${path}' is already in use`,
    "Stop the other process using the socket, or configure a different socket_dir",
  );
}
