/**
 * The system RPC family (DAOS lib/control/system.go): typed requests to the MS over an
 * Invoker. Used by dmg (`dmg system …`) and by anything else that asks the MS; the erase
 * pre-check (no running ranks, fail fast when no MS answers) lives here, not in the CLI.
 */
import {
  create,
  type DescMessage,
  type MessageInitShape,
  type MessageShape,
} from "@bufbuild/protobuf";
import { MgmtSvc } from "../../../proto/gen/ts/mgmt/mgmt_pb.ts";
import { LeaderQueryReqSchema, type LeaderQueryResp } from "../../../proto/gen/ts/mgmt/svc_pb.ts";
import {
  SystemEraseReqSchema,
  type SystemEraseResp,
  type SystemQueryResp,
} from "../../../proto/gen/ts/mgmt/system_pb.ts";
import { RankSet } from "../rankset.ts";
import { MemberState } from "../states.ts";
import {
  decodeRemoteError,
  isMsNotReady,
  MsUnavailableError,
  NotReplicaError,
} from "../rpc/error_codec.ts";
import type { MsRequestOptions } from "../rpc/ms_request.ts";
import type { ConnContext } from "../rpc/conn_errors.ts";
import { BaseInvoker, type Invoker, type Method, type UnaryCall } from "./invoker.ts";

/** Where and how long to ask the MS: MsRequestOptions without the request name. */
export type MsOptions = Omit<MsRequestOptions, "name">;

type Init<S extends DescMessage> = MessageInitShape<S>;

/** An MS request of `method` with the request built from its init. */
function msCall<I extends DescMessage, O extends DescMessage>(method: Method<I, O>) {
  return (inv: Invoker, opts: MsOptions, req: MessageInitShape<I>): Promise<MessageShape<O>> =>
    inv.msRequest(method, create(method.input, req), { ...opts, name: method.name });
}

/** SystemQuery: members (filtered by ranks/hosts/state mask), absent ranks and hosts. */
export const systemQuery = msCall(MgmtSvc.method.systemQuery);

/** SystemStop: per-rank results. */
export const systemStop = msCall(MgmtSvc.method.systemStop);

/** SystemStart: per-rank results. */
export const systemStart = msCall(MgmtSvc.method.systemStart);

/** SystemExclude (`clear` false) / clear-exclude (`clear` true): per-rank results. */
export const systemExclude = msCall(MgmtSvc.method.systemExclude);

/**
 * LeaderQuery, then every replica it names, each with `replicaTimeoutMs` counted from the
 * MS's answer: the replicas that fail are the response's DownReplicas.
 */
export async function leaderQuery(
  inv: Invoker,
  opts: MsOptions & { replicaTimeoutMs: number },
  req: Init<typeof LeaderQueryReqSchema>,
): Promise<LeaderQueryResp> {
  const { replicaTimeoutMs, ...ms } = opts;
  const request = create(LeaderQueryReqSchema, req);
  const resp = await inv.msRequest(MgmtSvc.method.leaderQuery, request, {
    ...ms,
    name: "LeaderQuery",
  });
  if (resp.replicas.length > 0) {
    const results = await inv.fanOut(resp.replicas, MgmtSvc.method.leaderQuery, request, {
      deadline: Date.now() + replicaTimeoutMs,
      name: "LeaderQuery",
    });
    resp.DownReplicas = results.filter((r) => r.error !== undefined).map((r) => r.addr);
  }
  return resp;
}

/** Ranks of members that must be stopped before erase (Ready or Joined). */
export function eraseBlockers(resp: SystemQueryResp): RankSet {
  const running = resp.members.filter((m) =>
    m.state.toLowerCase() === "ready" || m.state.toLowerCase() === "joined"
  );
  return RankSet.fromRanks(running.map((m) => m.rank));
}

/**
 * Makes the first not-ready MS answer abort the request it belongs to (erase's "fail fast"):
 * the calls still running are cancelled and `notReady` is set.
 */
class FailFastInvoker extends BaseInvoker {
  readonly #inner: Invoker;
  readonly abort = new AbortController();
  notReady = false;

  constructor(inner: Invoker) {
    super();
    this.#inner = inner;
  }

  override get connContext(): ConnContext {
    return this.#inner.connContext;
  }

  protected override async call<I extends DescMessage, O extends DescMessage>(
    c: UnaryCall<I, O>,
  ): Promise<MessageShape<O>> {
    try {
      return await this.#inner.unary(c.addr, c.method, c.request, c.opts);
    } catch (e) {
      if (isMsNotReady(decodeRemoteError(e))) {
        this.notReady = true;
        this.abort.abort();
      }
      throw e;
    }
  }
}

/**
 * An MS request that does not wait for an unavailable MS: the first not-ready answer ends it
 * with `raft service unavailable (not started yet?)` (an MsUnavailableError).
 */
async function failFast<T>(
  inv: Invoker,
  opts: MsOptions,
  send: (inv: Invoker, opts: MsOptions) => Promise<T>,
): Promise<T> {
  const ff = new FailFastInvoker(inv);
  try {
    return await send(ff, { ...opts, signal: ff.abort.signal });
  } catch (e) {
    if (ff.notReady) throw new MsUnavailableError("unavailable", undefined, "", e);
    throw e;
  }
}

/**
 * SystemErase with its pre-check: a SystemQuery for Ready/Joined members refuses the erase
 * while any rank runs; an MS that is not running (not a replica, not ready) has none, so the
 * erase goes on. Neither request waits for a not-ready MS.
 */
export async function systemErase(
  inv: Invoker,
  opts: MsOptions,
  req: Init<typeof SystemEraseReqSchema>,
): Promise<SystemEraseResp> {
  let query: SystemQueryResp | undefined;
  try {
    query = await failFast(inv, opts, (i, o) =>
      systemQuery(i, o, {
        sys: req.sys,
        stateMask: MemberState.Ready | MemberState.Joined,
      }));
  } catch (e) {
    // MS not running (not a replica / unavailable): nothing can be running, go on.
    if (!(e instanceof NotReplicaError) && !isMsNotReady(e)) throw e;
  }
  if (query !== undefined) {
    const blockers = eraseBlockers(query);
    if (blockers.count > 0) {
      throw new Error(
        `system erase requires the following ${blockers.count} ${
          blockers.count === 1 ? "rank" : "ranks"
        } to be stopped: ${blockers.toString()}`,
      );
    }
  }
  return await failFast(
    inv,
    opts,
    (i, o) =>
      i.msRequest(MgmtSvc.method.systemErase, create(SystemEraseReqSchema, req), {
        ...o,
        name: "SystemErase",
      }),
  );
}
