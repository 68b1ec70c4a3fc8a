/**
 * dRPC client: one connection per call (connect, one Call, one Response, close), as the
 * reference control plane does (spec/server.md §6.1), with a caller-owned deadline.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  CallSchema,
  type Response,
  ResponseSchema,
  Status,
} from "../../proto/gen/ts/drpc/drpc_pb.ts";
import { faults } from "../lib/fault.ts";
import { readMessage, StreamReader, writeMessage } from "./framing.ts";

/** Options of one dRPC call. */
export interface CallOptions {
  /** Whole-call deadline (connect, send, receive). */
  timeoutMs: number;
  /** Sequence number to send; the server echoes it. Default 1 (fresh connection). */
  sequence?: bigint;
}

/** The call did not finish within its deadline. */
export class DrpcTimeoutError extends Error {
  override name = "DrpcTimeoutError";
}

/** The server answered with a non-SUCCESS dRPC status. */
export class DrpcStatusError extends Error {
  override name = "DrpcStatusError";
  constructor(readonly status: Status) {
    super(`bad dRPC response status: ${Status[status] ?? status}`);
  }
}

function isNotListening(e: unknown): boolean {
  return e instanceof Deno.errors.NotFound || e instanceof Deno.errors.ConnectionRefused;
}

/**
 * Sends one Call to the dRPC server at socketPath and returns its Response (any status).
 * Throws fault 611 (DataPlaneNotStarted) when nothing listens there, DrpcTimeoutError past
 * the deadline, FramingError on a malformed reply.
 */
export async function callDrpc(
  socketPath: string,
  module: number,
  method: number,
  body: Uint8Array,
  opts: CallOptions,
): Promise<Response> {
  let conn: Deno.UnixConn | undefined;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      conn?.close();
    } catch { /* already closed */ }
  }, opts.timeoutMs);
  try {
    try {
      conn = await Deno.connect({ transport: "unix", path: socketPath });
    } catch (e) {
      if (isNotListening(e)) throw faults.ServerDataPlaneNotStarted();
      throw e;
    }
    if (timedOut) throw new Error("timed out while connecting");
    const call = create(CallSchema, {
      module,
      method,
      sequence: opts.sequence ?? 1n,
      body,
    });
    await writeMessage(conn, toBinary(CallSchema, call));
    const raw = await readMessage(new StreamReader(conn));
    if (raw === null) {
      throw new Error(`dRPC server at ${socketPath} closed the connection without a response`);
    }
    return fromBinary(ResponseSchema, raw);
  } catch (e) {
    if (timedOut) {
      throw new DrpcTimeoutError(
        `dRPC call module ${module} method ${method} to ${socketPath} timed out after ` +
          `${opts.timeoutMs} ms`,
        { cause: e },
      );
    }
    throw e;
  } finally {
    clearTimeout(timer);
    try {
      conn?.close();
    } catch { /* closed by the timer */ }
  }
}

/** Like callDrpc, but throws DrpcStatusError unless the status is SUCCESS; returns the body. */
export async function callDrpcOk(
  socketPath: string,
  module: number,
  method: number,
  body: Uint8Array,
  opts: CallOptions,
): Promise<Uint8Array> {
  const resp = await callDrpc(socketPath, module, method, body, opts);
  if (resp.status !== Status.SUCCESS) throw new DrpcStatusError(resp.status);
  return resp.body;
}

/**
 * Serialises calls to one engine: the reference never has two calls to the same engine in
 * flight. Calls run in arrival order; a failed call does not block the next.
 */
export class SerialDrpcClient {
  #tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly socketPath: () => string | undefined) {}

  /** Calls method of module on the engine, after every earlier call finished. */
  call(
    module: number,
    method: number,
    body: Uint8Array,
    opts: CallOptions,
  ): Promise<Uint8Array> {
    const run = async () => {
      const path = this.socketPath();
      if (path === undefined) {
        throw new Error("dRPC socket not ready (data plane not started?)");
      }
      return await callDrpcOk(path, module, method, body, opts);
    };
    const p = this.#tail.then(run, run);
    this.#tail = p.catch(() => undefined);
    return p;
  }
}
