/**
 * A gRPC client that knows nothing of this project: the reference's own .proto files
 * (tests/fixtures/reference_proto) loaded at run time by @grpc/proto-loader, calls made by
 * @grpc/grpc-js. Error details (grpc-status-details-bin) are decoded with protobufjs from the
 * same fixture, never with our generated code.
 */
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import protobuf from "protobufjs";
import { equal } from "node:assert/strict";
import { LocalCluster } from "../cluster/local_cluster.ts";

/** The fixture directory (include path of every reference .proto). */
export const REFERENCE_PROTO_DIR = new URL("../fixtures/reference_proto/", import.meta.url)
  .pathname;

/** A decoded google.rpc.ErrorInfo. */
export interface ErrorInfo {
  reason: string;
  domain: string;
  metadata: Record<string, string>;
}

/** A failed call as the foreign client sees it: status code, message, ErrorInfo details. */
export interface ForeignError {
  code: grpc.status;
  message: string;
  infos: ErrorInfo[];
}

type UnaryMethod = (
  req: object,
  md: grpc.Metadata,
  opts: grpc.CallOptions,
  cb: (err: grpc.ServiceError | null, res?: unknown) => void,
) => void;

/**
 * The fixture's mgmt/mgmt.proto loaded by @grpc/proto-loader; keepCase: field names exactly as
 * the reference spells them (current_leader, tgt_ranks).
 */
export function loadReferenceMgmt(): protoLoader.PackageDefinition {
  return protoLoader.loadSync("mgmt/mgmt.proto", {
    includeDirs: [REFERENCE_PROTO_DIR],
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
}

/** mgmt.MgmtSvc from the reference's mgmt/mgmt.proto, bound to one server address. */
export class ForeignMgmtClient {
  readonly #client: grpc.Client;

  constructor(addr: string) {
    const pkg = grpc.loadPackageDefinition(loadReferenceMgmt()) as unknown as {
      mgmt: { MgmtSvc: grpc.ServiceClientConstructor };
    };
    this.#client = new pkg.mgmt.MgmtSvc(addr, grpc.credentials.createInsecure());
  }

  /** Calls `method` (a MgmtSvc method name of the fixture) and resolves with the reply. */
  call<T>(method: string, req: object, timeoutMs = 30_000): Promise<T> {
    const fn = (this.#client as unknown as Record<string, UnaryMethod | undefined>)[method];
    if (typeof fn !== "function") {
      throw new Error(`MgmtSvc.${method} is not in ${REFERENCE_PROTO_DIR}mgmt/mgmt.proto`);
    }
    return new Promise((resolve, reject) => {
      fn.call(
        this.#client,
        req,
        new grpc.Metadata(),
        { deadline: Date.now() + timeoutMs },
        (err, res) => (err ? reject(err) : resolve(res as T)),
      );
    });
  }

  /** Calls `method` expecting a failure; resolves with the decoded error (throws on success). */
  async fail(method: string, req: object): Promise<ForeignError> {
    let reply: unknown;
    try {
      reply = await this.call(method, req);
    } catch (e) {
      const se = e as grpc.ServiceError;
      if (typeof se.code !== "number" || !se.metadata) throw e;
      return { code: se.code, message: decodeURIComponent(se.details), infos: errorInfos(se) };
    }
    throw new Error(
      `MgmtSvc.${method} succeeded but was expected to fail: ${JSON.stringify(reply)}`,
    );
  }

  close(): void {
    this.#client.close();
  }
}

let statusTypes: { status: protobuf.Type; errorInfo: protobuf.Type } | null = null;

function loadStatusTypes(): { status: protobuf.Type; errorInfo: protobuf.Type } {
  if (statusTypes) return statusTypes;
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) =>
    target.startsWith("google/protobuf/") ? target : REFERENCE_PROTO_DIR + target;
  root.loadSync(["google/rpc/status.proto", "google/rpc/error_details.proto"], { keepCase: true });
  statusTypes = {
    status: root.lookupType("google.rpc.Status"),
    errorInfo: root.lookupType("google.rpc.ErrorInfo"),
  };
  return statusTypes;
}

/**
 * The google.rpc.ErrorInfo details of a failed call, decoded from the grpc-status-details-bin
 * trailer (a google.rpc.Status whose details are Any messages).
 */
export function errorInfos(err: grpc.ServiceError): ErrorInfo[] {
  const raw = err.metadata.get("grpc-status-details-bin");
  if (raw.length === 0) return [];
  const { status, errorInfo } = loadStatusTypes();
  const st = status.toObject(status.decode(raw[0] as Buffer), { defaults: true }) as {
    details: { type_url: string; value: Uint8Array }[];
  };
  return st.details
    .filter((d) => d.type_url.endsWith("/google.rpc.ErrorInfo"))
    .map((d) =>
      errorInfo.toObject(errorInfo.decode(d.value), { defaults: true, objects: true }) as ErrorInfo
    );
}

/**
 * Runs `fn` against one formatted daos_server with 2 engines (both ranks joined), the MS
 * replica, and a foreign client of it; both are torn down afterwards, also on failure.
 */
export async function withForeignCluster(
  fn: (c: LocalCluster, fc: ForeignMgmtClient) => Promise<void>,
): Promise<void> {
  const c = await LocalCluster.create({ servers: 1, replicas: 1, engines: 2 });
  let client: ForeignMgmtClient | null = null;
  try {
    await c.startAll();
    const f = await c.dmg(["storage", "format"]);
    equal(f.code, 0, f.stdout + f.stderr);
    await c.waitFor("2 ranks joined", async () => (await c.joinedRanks()).length === 2, 60_000);
    client = new ForeignMgmtClient(c.server(0).addr);
    await fn(c, client);
  } finally {
    client?.close();
    await c.destroy();
  }
}
