/**
 * What the tests that run bin/daos_engine as a process share: polling, a fake
 * daos_server.sock that acknowledges NotifyReady, and typed mgmt dRPC calls.
 */
import {
  create,
  type DescMessage,
  fromBinary,
  type MessageInitShape,
  toBinary,
} from "@bufbuild/protobuf";
import { callDrpc } from "../../control/drpc/client.ts";
import { readMessage, StreamReader, writeMessage } from "../../control/drpc/framing.ts";
import { DrpcModule, SrvMethod } from "../../control/drpc/ids.ts";
import {
  CallSchema,
  type Response as DrpcResponse,
  ResponseSchema,
  Status,
} from "../../proto/gen/ts/drpc/drpc_pb.ts";
import { type NotifyReadyReq, NotifyReadyReqSchema } from "../../proto/gen/ts/srv/srv_pb.ts";

/** Polls cond every `intervalMs` (10) at most `tries` (500) times, then throws naming `what`. */
export async function until(
  what: string,
  cond: () => Promise<boolean> | boolean,
  { tries = 500, intervalMs = 10 } = {},
): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * A fake daos_server.sock: answers NotifyReady with SUCCESS (FAILURE when `reject`), any other
 * method with UNKNOWN_METHOD, and records each request.
 */
export class FakeServer {
  readonly notifications: NotifyReadyReq[] = [];
  readonly calls: { module: number; method: number }[] = [];
  #listener: Deno.Listener;
  #done: Promise<void>;

  constructor(path: string, private readonly reject = false) {
    this.#listener = Deno.listen({ transport: "unix", path });
    this.#done = this.#serve();
  }

  async #serve(): Promise<void> {
    for await (const conn of this.#listener) {
      try {
        const raw = await readMessage(new StreamReader(conn));
        if (raw === null) continue;
        const call = fromBinary(CallSchema, raw);
        this.calls.push({ module: call.module, method: call.method });
        const ok = call.module === DrpcModule.SRV && call.method === SrvMethod.NOTIFY_READY;
        if (ok) this.notifications.push(fromBinary(NotifyReadyReqSchema, call.body));
        const resp = create(ResponseSchema, {
          sequence: call.sequence,
          status: !ok ? Status.UNKNOWN_METHOD : this.reject ? Status.FAILURE : Status.SUCCESS,
        });
        await writeMessage(conn, toBinary(ResponseSchema, resp));
      } finally {
        conn.close();
      }
    }
  }

  /** Stops listening and waits for the serving loop to end. */
  async close(): Promise<void> {
    this.#listener.close();
    await this.#done.catch(() => undefined);
  }
}

/**
 * Calls an mgmt method of the engine at `sock` with a typed request; returns the Response.
 * `timeoutMs` (5000) bounds the call; collective pool calls need longer.
 */
export async function mgmtCall<Desc extends DescMessage>(
  sock: string,
  method: number,
  schema: Desc,
  init: MessageInitShape<Desc>,
  { timeoutMs = 5000 } = {},
): Promise<DrpcResponse> {
  return await callDrpc(
    sock,
    DrpcModule.MGMT,
    method,
    toBinary(schema, create(schema, init)),
    { timeoutMs },
  );
}
