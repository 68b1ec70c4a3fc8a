/**
 * An Invoker for tests: answers from scripts instead of sockets (DAOS lib/control's
 * MockInvoker). A script is per method and optionally per host; it returns the response (a
 * message or its init) or throws. Errors go through the same paths as real ones: script a
 * server error as its wire form ({@link remote}) and a refused connection with
 * {@link refused}. Every request is recorded in `calls`.
 */
import {
  create,
  type DescMessage,
  type MessageInitShape,
  type MessageShape,
} from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { ConnContext } from "../rpc/conn_errors.ts";
import { toWireError } from "../rpc/error_codec.ts";
import { BaseInvoker, type Method, type UnaryCall } from "./invoker.ts";

/** A scripted answer: the response, or throw the error the call should fail with. */
export type Script<I extends DescMessage, O extends DescMessage> = (
  request: MessageShape<I>,
  addr: string,
  /** How many calls of this method (to any host) came before this one. */
  n: number,
) => MessageInitShape<O> | Promise<MessageInitShape<O>>;

/** One recorded call. */
export interface MockCall {
  addr: string;
  /** The method's name, e.g. "SystemQuery". */
  method: string;
  request: unknown;
}

/** The wire form of a typed server error (Fault, NotLeaderError, MsUnavailableError, …). */
export function remote(err: unknown): ConnectError {
  return toWireError(err);
}

/** The error a call to `addr` gets when nothing listens there (fault 506 once folded). */
export function refused(addr: string): ConnectError {
  return new ConnectError(`connect ECONNREFUSED ${addr}`, Code.Unavailable);
}

/** Scripted control calls; see the module comment. */
export class MockInvoker extends BaseInvoker {
  override readonly connContext: ConnContext = { secure: false };
  /** Every call, in the order made. */
  readonly calls: MockCall[] = [];
  readonly #scripts = new Map<string, (req: unknown, addr: string, n: number) => unknown>();
  readonly #counts = new Map<string, number>();

  /** Answers `method` with `script` (for `addr` only when given; host scripts win). */
  on<I extends DescMessage, O extends DescMessage>(
    method: Method<I, O>,
    script: Script<I, O>,
    addr?: string,
  ): this {
    this.#scripts.set(
      key(method.name, addr),
      script as (r: unknown, a: string, n: number) => unknown,
    );
    return this;
  }

  /** Always answers `method` with `response`. */
  reply<I extends DescMessage, O extends DescMessage>(
    method: Method<I, O>,
    response: MessageInitShape<O>,
    addr?: string,
  ): this {
    return this.on(method, () => response, addr);
  }

  /** Always fails `method` with `err`. */
  fail<I extends DescMessage, O extends DescMessage>(
    method: Method<I, O>,
    err: Error,
    addr?: string,
  ): this {
    return this.on(method, () => {
      throw err;
    }, addr);
  }

  /** The requests of `method` so far, in call order. */
  requests<I extends DescMessage, O extends DescMessage>(method: Method<I, O>): MessageShape<I>[] {
    return this.calls.filter((c) => c.method === method.name).map((c) =>
      c.request as MessageShape<I>
    );
  }

  protected override async call<I extends DescMessage, O extends DescMessage>(
    c: UnaryCall<I, O>,
  ): Promise<MessageShape<O>> {
    const name = c.method.name;
    this.calls.push({ addr: c.addr, method: name, request: c.request });
    const n = this.#counts.get(name) ?? 0;
    this.#counts.set(name, n + 1);
    if (c.opts.signal?.aborted) throw new ConnectError("operation was aborted", Code.Canceled);
    const script = this.#scripts.get(key(name, c.addr)) ?? this.#scripts.get(key(name, undefined));
    if (script === undefined) {
      throw new ConnectError(
        `MockInvoker: no script for ${name} (host ${c.addr}): add one with on()/reply()/fail()`,
        Code.Unimplemented,
      );
    }
    const init = await script(c.request, c.addr, n);
    return create(c.method.output, init as MessageInitShape<O>);
  }
}

function key(method: string, addr: string | undefined): string {
  return addr === undefined ? method : `${method}@${addr}`;
}
