/**
 * daos_server's srv module (3): engine up-calls NotifyReady (301) and ClusterEvent (304)
 * (spec/server.md §2.3, §6.4).
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Status } from "../../proto/gen/ts/drpc/drpc_pb.ts";
import { type NotifyReadyReq, NotifyReadyReqSchema } from "../../proto/gen/ts/srv/srv_pb.ts";
import {
  type ClusterEventReq,
  ClusterEventReqSchema,
  ClusterEventRespSchema,
} from "../../proto/gen/ts/shared/event_pb.ts";
import { DrpcModule, SrvMethod } from "./ids.ts";
import { fabricUriProblem, MAX_SECONDARY_PROVIDERS, quoteInput } from "../lib/member_fields.ts";
import {
  type DrpcHandler,
  DrpcHandlerError,
  type DrpcServer,
  type DrpcServerLog,
  type DrpcServerOptions,
  SERVER_SOCKET_NAME,
} from "./server.ts";

/** What the srv module needs from the rest of daos_server. */
export interface SrvModuleDeps {
  /** Number of configured engine instances (NotifyReady's instanceIdx must be below it). */
  instanceCount(): number;
  /** Called after the reply to a valid NotifyReady has been produced (processed async). */
  onNotifyReady(req: NotifyReadyReq): Promise<void> | void;
  /** Handles a RAS event from an engine; returns the status to put in ClusterEventResp. */
  onClusterEvent(req: ClusterEventReq): Promise<number> | number;
  log?: DrpcServerLog;
}

function decode<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw new DrpcHandlerError(Status.FAILED_UNMARSHAL_PAYLOAD, `decoding ${what}: ${e}`);
  }
}

async function checkIsSocket(path: string): Promise<void> {
  if (path === "") throw new Error("NotifyReady has an empty drpcListenerSock");
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (e) {
    throw new Error(`engine dRPC socket ${path}: ${e instanceof Error ? e.message : e}`);
  }
  if (!info.isSocket) throw new Error(`engine dRPC socket ${path} is not a socket`);
}

/** Longest Unix socket path (sun_path holds 108 bytes with the NUL). */
const MAX_SOCKET_PATH = 107;

/**
 * What makes a NotifyReady unusable, checked before it is taken as the engine's start-up (an
 * engine sends one; a bad one taken would leave it unready and refuse the real one as a
 * repeat): the URIs it will join with, the socket path.
 */
function notifyReadyProblem(req: NotifyReadyReq): string | null {
  if (req.drpcListenerSock.length > MAX_SOCKET_PATH) {
    return `drpcListenerSock ${quoteInput(req.drpcListenerSock)} longer than ${MAX_SOCKET_PATH}`;
  }
  if (req.secondaryUris.length > MAX_SECONDARY_PROVIDERS) {
    return `more than ${MAX_SECONDARY_PROVIDERS} secondaryUris`;
  }
  return fabricUriProblem(req.uri) ??
    req.secondaryUris.map(fabricUriProblem).find((p) => p !== null) ?? null;
}

/** Builds the srv module's method table. */
export function srvModuleHandlers(deps: SrvModuleDeps): Record<number, DrpcHandler> {
  const notifyReady: DrpcHandler = async (body) => {
    const req = decode("NotifyReadyReq", () => fromBinary(NotifyReadyReqSchema, body));
    const n = deps.instanceCount();
    if (req.instanceIdx >= n) {
      throw new Error(
        `NotifyReady from instance ${req.instanceIdx}, but only ${n} engine(s) configured`,
      );
    }
    const bad = notifyReadyProblem(req);
    if (bad !== null) throw new Error(`NotifyReady from instance ${req.instanceIdx}: ${bad}`);
    await checkIsSocket(req.drpcListenerSock);
    // Reply first, then join etc. asynchronously: the engine waits for this reply.
    setTimeout(async () => {
      try {
        await deps.onNotifyReady(req);
      } catch (e) {
        deps.log?.error(`processing NotifyReady of instance ${req.instanceIdx}: ${e}`);
      }
    }, 0);
    return new Uint8Array(0);
  };
  const clusterEvent: DrpcHandler = async (body) => {
    const req = decode("ClusterEventReq", () => fromBinary(ClusterEventReqSchema, body));
    const status = await deps.onClusterEvent(req);
    return toBinary(
      ClusterEventRespSchema,
      create(ClusterEventRespSchema, { sequence: req.sequence, status }),
    );
  };
  return {
    [SrvMethod.NOTIFY_READY]: notifyReady,
    [SrvMethod.CLUSTER_EVENT]: clusterEvent,
  };
}

/**
 * Largest call daos_server.sock reads: engine up-calls (NotifyReady, ClusterEvent) are a few
 * KB; a local process announcing more is dropped instead of being buffered up to the generic
 * 64 MiB cap.
 */
export const SERVER_MAX_MESSAGE_SIZE = 1024 * 1024;

/** Options of daos_server's own dRPC server on `<socketDir>/daos_server.sock`. */
export function serverDrpcOptions(socketDir: string, log?: DrpcServerLog): DrpcServerOptions {
  return {
    socketPath: `${socketDir}/${SERVER_SOCKET_NAME}`,
    log,
    maxMessageSize: SERVER_MAX_MESSAGE_SIZE,
  };
}

/**
 * Registers the modules daos_server serves on daos_server.sock: srv (3) with NotifyReady and
 * ClusterEvent, and mgmt (2) with no methods (every call gets UNKNOWN_METHOD, as in DAOS).
 */
export function registerServerModules(server: DrpcServer, deps: SrvModuleDeps): void {
  server.registerModule(DrpcModule.SRV, srvModuleHandlers(deps));
  server.registerModule(DrpcModule.MGMT, {});
}
