/** RAS events raised by the harness (spec/server.md §5.5 event ids). */
import { create } from "@bufbuild/protobuf";
import { NilRank } from "../lib/rankset.ts";
import {
  type RASEvent,
  RASEvent_EngineStateEventInfoSchema,
  RASEventSchema,
} from "../../proto/gen/ts/shared/event_pb.ts";

/** RAS event ids used here. */
export const RasId = {
  ENGINE_FORMAT_REQUIRED: 1,
  ENGINE_DIED: 2,
  ENGINE_SELF_TERMINATED: 5,
  ENGINE_JOIN_FAILED: 26,
} as const;

/** RAS event types. */
export const RasType = { ANY: 0, STATE_CHANGE: 1, INFO: 2 } as const;
/** RAS severities. */
export const RasSeverity = { UNKNOWN: 0, ERROR: 1, WARNING: 2, NOTICE: 3 } as const;

/** engine_died: a state-change error event, forwarded to the MS when the rank is known. */
export function engineDiedEvent(a: {
  hostname: string;
  instance: number;
  rank: number | null;
  incarnation: bigint;
  exitStatus: string;
  exitCode: number;
  pid: number;
}): RASEvent {
  return create(RASEventSchema, {
    id: RasId.ENGINE_DIED,
    msg: `DAOS engine ${a.instance} exited unexpectedly: ${a.exitStatus}`,
    timestamp: new Date().toISOString(),
    type: RasType.STATE_CHANGE,
    severity: RasSeverity.ERROR,
    hostname: a.hostname,
    rank: a.rank ?? NilRank,
    incarnation: a.incarnation,
    procId: BigInt(a.pid),
    extendedInfo: {
      case: "engineStateInfo",
      value: create(RASEvent_EngineStateEventInfoSchema, {
        instance: a.instance,
        errored: true,
        error: a.exitCode,
      }),
    },
  });
}

/** engine_format_required: info event, rank Nil. */
export function engineFormatRequiredEvent(hostname: string, instance: number): RASEvent {
  return create(RASEventSchema, {
    id: RasId.ENGINE_FORMAT_REQUIRED,
    msg: `DAOS engine ${instance} requires a SCM format`,
    timestamp: new Date().toISOString(),
    type: RasType.INFO,
    severity: RasSeverity.NOTICE,
    hostname,
    rank: NilRank,
    extendedInfo: {
      case: "engineStateInfo",
      value: create(RASEvent_EngineStateEventInfoSchema, { instance }),
    },
  });
}
