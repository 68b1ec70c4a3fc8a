/**
 * Typed control-plane errors on the wire (server.md §5.2, dmg.md §3.2): gRPC/Connect status
 * Internal with a google.rpc.ErrorInfo detail whose reason names the error kind. Encoders are
 * used by server handlers (the MS); decodeRemoteError rebuilds the typed error on the client.
 */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorInfoSchema } from "../../../proto/gen/ts/google/rpc/error_details_pb.ts";
import { DaosStatusError, Fault, faultFromWire } from "../fault.ts";

/** ErrorInfo reasons (exact strings from server.md §5.2). */
export const Reason = {
  fault: "proto.fault.Fault",
  daosStatus: "proto.daos.DaosStatus",
  notReplica: "proto.system.ErrNotReplica",
  notLeader: "proto.system.ErrNotLeader",
  uninitialized: "proto.system.ErrUninitialized",
  raftUnavailable: "proto.system.ErrRaftUnavail",
  stepUp: "proto.system.ErrLeaderStepUpInProgress",
  poolNotFound: "proto.system.ErrPoolNotFound",
} as const;

/**
 * The `reason` of the fault an MS replica answers when its etcd does not (a Fault, so dmg prints
 * its resolution): typed by this field, which travels on the wire, never by its text.
 */
export const MS_DB_UNAVAILABLE = "ms-db-unavailable";

/**
 * Why an MS replica cannot answer now, although it may in a moment: `uninitialized` (its
 * database has not started: storage not formatted yet), `unavailable` (started but it holds no
 * system yet), `step-up` (a new leader is still taking over).
 */
export type MsUnavailableKind = "uninitialized" | "unavailable" | "step-up";

const MS_UNAVAILABLE_TEXT: Record<MsUnavailableKind, string> = {
  uninitialized: "system is uninitialized (storage format required?)",
  unavailable: "raft service unavailable (not started yet?)",
  "step-up": "leader step-up in progress",
};

const MS_UNAVAILABLE_REASON: Record<MsUnavailableKind, string> = {
  uninitialized: Reason.uninitialized,
  unavailable: Reason.raftUnavailable,
  "step-up": Reason.stepUp,
};

/**
 * "The MS cannot answer yet": carried on the wire as an ErrorInfo reason, so clients decide by
 * type, never by message text.
 */
export class MsUnavailableError extends Error {
  readonly kind: MsUnavailableKind;
  readonly resolution: string;
  constructor(kind: MsUnavailableKind, text?: string, resolution = "", cause?: unknown) {
    super(text ?? MS_UNAVAILABLE_TEXT[kind], { cause });
    this.name = "MsUnavailableError";
    this.kind = kind;
    this.resolution = resolution;
  }
}

/** No pool with this label or uuid (the reference's system.ErrPoolNotFound). */
export class PoolNotFoundError extends Error {
  /** The label or uuid asked for. */
  readonly id: string;
  readonly isLabel: boolean;
  constructor(id: string, isLabel: boolean) {
    super(
      isLabel
        ? `unable to find pool service with label "${id}"`
        : `unable to find pool service ${id}`,
    );
    this.name = "PoolNotFoundError";
    this.id = id;
    this.isLabel = isLabel;
  }
}

/** "This server is not an MS replica; try one of these." */
export class NotReplicaError extends Error {
  readonly replicas: string[];
  constructor(replicas: string[]) {
    const known = replicas.filter((r) => r !== "");
    super(
      known.length > 0
        ? `not a DAOS Management Service replica (try one of ${known.join(",")})`
        : "not a DAOS Management Service replica (no replica known: check mgmt_svc_replicas)",
    );
    this.name = "NotReplicaError";
    this.replicas = replicas;
  }
}

/**
 * The not-leader text: the reference's "(try <hint> or one of <replicas>)" when both are known;
 * a missing part is left out rather than printed empty, and with neither it says that no leader
 * is known (election in progress or the MS database down).
 */
export function notLeaderMessage(leaderHint: string, replicas: string[]): string {
  const base = "not the DAOS Management Service leader";
  const others = replicas.filter((r) => r !== "");
  if (leaderHint !== "" && others.length > 0) {
    return `${base} (try ${leaderHint} or one of ${others.join(",")})`;
  }
  if (leaderHint !== "") return `${base} (try ${leaderHint})`;
  if (others.length > 0) return `${base} (no leader known; try one of ${others.join(",")})`;
  return `${base} (no leader known: election in progress or the MS database is down; ` +
    "retry later, the control log of the MS replica tells why)";
}

/** "This replica is not the MS leader; try the hint or one of the replicas." */
export class NotLeaderError extends Error {
  readonly leaderHint: string;
  readonly replicas: string[];
  constructor(leaderHint: string, replicas: string[]) {
    super(notLeaderMessage(leaderHint, replicas));
    this.name = "NotLeaderError";
    this.leaderHint = leaderHint;
    this.replicas = replicas;
  }
}

function withInfo(
  message: string,
  reason: string,
  domain: string,
  metadata: Record<string, string>,
): ConnectError {
  return new ConnectError(message, Code.Internal, undefined, [
    { desc: ErrorInfoSchema, value: create(ErrorInfoSchema, { reason, domain, metadata }) },
  ]);
}

/** The wire error a replica that is not the leader returns for a leader-only call. */
export function notLeaderError(leaderHint: string, replicas: string[]): ConnectError {
  const e = new NotLeaderError(leaderHint, replicas);
  return withInfo(e.message, Reason.notLeader, "DAOS", {
    LeaderHint: leaderHint,
    Replicas: JSON.stringify(replicas),
  });
}

/** The wire error a server that is not an MS replica returns for any MS call. */
export function notReplicaError(replicas: string[]): ConnectError {
  const e = new NotReplicaError(replicas);
  return withInfo(e.message, Reason.notReplica, "DAOS", { Replicas: JSON.stringify(replicas) });
}

/** The wire form of a fault. */
export function faultError(fault: Fault): ConnectError {
  return withInfo(fault.message, Reason.fault, fault.domain, {
    Domain: fault.domain,
    Code: String(fault.code),
    Description: fault.description,
    Reason: fault.reason,
    Resolution: fault.resolution,
  });
}

/** The wire form of a DAOS status (negative DER code). */
export function daosStatusError(err: DaosStatusError): ConnectError {
  // Detail is ours (the reference sends only Status): what the status is about, for the admin.
  const md: Record<string, string> = { Status: String(err.status) };
  if (err.detail !== "") md.Detail = err.detail;
  return withInfo(err.message, Reason.daosStatus, "DAOS", md);
}

/** Converts any error a handler throws into its wire form (typed errors keep their type). */
export function toWireError(err: unknown): ConnectError {
  if (err instanceof Fault) return faultError(err);
  if (err instanceof DaosStatusError) return daosStatusError(err);
  if (err instanceof NotLeaderError) return notLeaderError(err.leaderHint, err.replicas);
  if (err instanceof NotReplicaError) return notReplicaError(err.replicas);
  if (err instanceof PoolNotFoundError) {
    // PoolInfo as the reference marshals it: {Rank, UUID, Label}, unknown ones null.
    const info = {
      Rank: null,
      UUID: err.isLabel ? null : err.id,
      Label: err.isLabel ? err.id : null,
    };
    return withInfo(err.message, Reason.poolNotFound, "DAOS", { PoolInfo: JSON.stringify(info) });
  }
  if (err instanceof MsUnavailableError) {
    return withInfo(err.message, MS_UNAVAILABLE_REASON[err.kind], "DAOS", {
      Resolution: err.resolution,
    });
  }
  return ConnectError.from(err);
}

function replicaList(json: string | undefined): string[] {
  if (!json) return [];
  try {
    const v: unknown = JSON.parse(json);
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
  } catch {
    return [];
  }
}

/** A plain server error: gRPC's text `rpc error: code = X desc = Y`, keeping the code. */
export class RemoteError extends Error {
  readonly code: Code;
  constructor(code: Code, desc: string) {
    super(`rpc error: code = ${Code[code]} desc = ${desc}`);
    this.name = "RemoteError";
    this.code = code;
  }
}

/**
 * Rebuilds the typed error carried by a remote error: Fault, DaosStatusError, NotLeaderError,
 * NotReplicaError, MsUnavailableError; otherwise a RemoteError.
 */
export function decodeRemoteError(err: unknown): Error {
  const ce = ConnectError.from(err);
  for (const info of ce.findDetails(ErrorInfoSchema)) {
    const md = info.metadata;
    switch (info.reason) {
      case Reason.fault:
        return faultFromWire({
          domain: md.Domain ?? info.domain,
          code: Number.parseInt(md.Code ?? "0", 10) || 0,
          description: md.Description ?? ce.rawMessage,
          reason: md.Reason,
          resolution: md.Resolution,
          cause: ce,
        });
      case Reason.daosStatus:
        return new DaosStatusError(
          Number.parseInt(md.Status ?? "-1025", 10) || -1025,
          ce,
          md.Detail ?? "",
        );
      case Reason.notLeader:
        return new NotLeaderError(md.LeaderHint ?? "", replicaList(md.Replicas));
      case Reason.notReplica:
        return new NotReplicaError(replicaList(md.Replicas));
      case Reason.poolNotFound:
        return poolNotFoundFromInfo(md.PoolInfo);
    }
    const kind = (Object.keys(MS_UNAVAILABLE_REASON) as MsUnavailableKind[]).find((k) =>
      MS_UNAVAILABLE_REASON[k] === info.reason
    );
    if (kind !== undefined) {
      return new MsUnavailableError(kind, ce.rawMessage, md.Resolution ?? "", ce);
    }
  }
  return new RemoteError(ce.code, ce.rawMessage);
}

/** The Connect/gRPC status code of an error, when it came from the wire. */
export function remoteCode(err: unknown): Code | undefined {
  for (let e: unknown = err, i = 0; e instanceof Error && i < 5; i++, e = e.cause) {
    if (e instanceof ConnectError || e instanceof RemoteError) return e.code;
  }
  return undefined;
}

/**
 * True for the MS answers that mean "ask again" (another replica or later): not leader, not a
 * replica, every {@link MsUnavailableError}, and the MS-database-unavailable fault. The one
 * check every MS caller uses; transport failures (connection faults, timeouts) are the
 * caller's to judge.
 */
export function isMsRetryable(err: unknown): boolean {
  return err instanceof NotLeaderError || err instanceof NotReplicaError ||
    err instanceof MsUnavailableError || (err instanceof Fault && err.reason === MS_DB_UNAVAILABLE);
}

/** True when `err` says the MS has no system to serve yet (not formatted, not started). */
export function isMsNotReady(err: unknown): boolean {
  return err instanceof MsUnavailableError;
}

function poolNotFoundFromInfo(json: string | undefined): PoolNotFoundError {
  try {
    const v = JSON.parse(json ?? "{}") as { UUID?: unknown; Label?: unknown };
    if (typeof v.Label === "string" && v.Label !== "") return new PoolNotFoundError(v.Label, true);
    if (typeof v.UUID === "string") return new PoolNotFoundError(v.UUID, false);
  } catch {
    // malformed PoolInfo: still a not-found
  }
  return new PoolNotFoundError("", false);
}
