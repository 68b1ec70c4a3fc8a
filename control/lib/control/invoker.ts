/**
 * The one way to make control calls (DAOS lib/control's UnaryInvoker): a unary call to one
 * host, a fan-out to a host list, an MS request. Implemented over real transports by
 * TransportPool (lib/rpc/transport.ts) and over scripted answers by MockInvoker
 * (mock_invoker.ts); both inherit unary, fan-out and MS routing from {@link BaseInvoker}, so
 * tests exercise the same bounded concurrency, host-error folding, leader following and
 * retries.
 */
import type { DescMessage, DescMethodUnary, MessageShape } from "@bufbuild/protobuf";
import type { CallOptions } from "@connectrpc/connect";
import type { ConnContext } from "../rpc/conn_errors.ts";
import { fanOutCalls, type FanOutOptions, type HostResult } from "../rpc/fanout.ts";
import { msRequestCalls, type MsRequestOptions } from "../rpc/ms_request.ts";

export type { FanOutOptions, HostResult, MsRequestOptions };

/** A unary RPC of a generated service, e.g. `MgmtSvc.method.systemQuery`. */
export type Method<I extends DescMessage, O extends DescMessage> = DescMethodUnary<I, O>;

/** The request of a fan-out: one for every host, or built per host. */
export type FanOutRequest<I extends DescMessage> =
  | MessageShape<I>
  | ((addr: string) => MessageShape<I>);

/** One unary call: the host ("host:port"), the method, the request, per-call options. */
export interface UnaryCall<I extends DescMessage, O extends DescMessage> {
  addr: string;
  method: Method<I, O>;
  request: MessageShape<I>;
  opts: CallOptions;
}

/**
 * Control calls, whatever carries them: a subclass supplies `call` (one unary call); unary,
 * fan-out and MS requests are built on it here, the same for every carrier.
 */
export abstract class BaseInvoker {
  /** The caller's transport security, as connection-error texts name it. */
  abstract readonly connContext: ConnContext;

  /** Sends one call; rejects with the transport's or the server's error as it came. */
  protected abstract call<I extends DescMessage, O extends DescMessage>(
    c: UnaryCall<I, O>,
  ): Promise<MessageShape<O>>;

  /**
   * One call to the host `addr` ("host:port"). Rejects with the transport's or the server's
   * error as it came (the caller judges it, e.g. with hostError or decodeRemoteError).
   */
  unary<I extends DescMessage, O extends DescMessage>(
    addr: string,
    method: Method<I, O>,
    request: MessageShape<I>,
    opts: CallOptions = {},
  ): Promise<MessageShape<O>> {
    return this.call({ addr, method, request, opts });
  }

  /**
   * The call on every target, bounded concurrency, one result per target in target order;
   * failures are host errors (lib/rpc/fanout.ts), never a rejection.
   */
  fanOut<I extends DescMessage, O extends DescMessage>(
    targets: readonly string[],
    method: Method<I, O>,
    request: FanOutRequest<I>,
    opts: FanOutOptions,
  ): Promise<HostResult<MessageShape<O>>[]> {
    const reqFor = typeof request === "function" ? request : () => request;
    return fanOutCalls(
      this.connContext,
      targets,
      (addr, o) => this.unary(addr, method, reqFor(addr), o),
      opts,
    );
  }

  /**
   * The call to the MS leader among `opts.hosts`: candidates, leader hints, retries of
   * not-ready answers, bounded by the deadline (lib/rpc/ms_request.ts).
   */
  msRequest<I extends DescMessage, O extends DescMessage>(
    method: Method<I, O>,
    request: MessageShape<I>,
    opts: MsRequestOptions,
  ): Promise<MessageShape<O>> {
    return msRequestCalls(
      this.connContext,
      (addr, o) => this.unary(addr, method, request, o),
      opts,
    );
  }
}

/** What callers use: the public face of {@link BaseInvoker}. */
export type Invoker = Pick<BaseInvoker, "connContext" | "unary" | "fanOut" | "msRequest">;
