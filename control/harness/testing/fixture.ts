/**
 * Test fixture: a harness with N instances on temp-dir storage, the daos_server.sock dRPC
 * server, a join callback that hands out ranks like the MS, and recorded logs and events.
 * close() kills engines and removes every file it made.
 */
import { create } from "@bufbuild/protobuf";
import { NilRank } from "../../lib/rankset.ts";
import { type JoinReq, type JoinResp, JoinRespSchema } from "../../../proto/gen/ts/mgmt/svc_pb.ts";
import type { RASEvent } from "../../../proto/gen/ts/shared/event_pb.ts";
import { DrpcServer } from "../../drpc/server.ts";
import { registerServerModules, serverDrpcOptions } from "../../drpc/srv_module.ts";
import { newSuperblock, writeSuperblock } from "../../storage/superblock.ts";
import { EngineHarness } from "../harness.ts";
import { dirSuperblockStore } from "../storage_adapter.ts";
import { superblockPresenceStorage } from "../superblock_storage.ts";
import { type HarnessLog, type SuperblockStore } from "../types.ts";

/** A harness without engines, not yet started, logging nowhere. */
export function idleHarness(controlAddr = "127.0.0.1:0"): EngineHarness {
  return new EngineHarness({
    instances: [],
    controlAddr,
    log: { debug() {}, info() {}, error() {} },
  });
}

/** How to launch the engine of instance idx. */
export interface EngineLaunch {
  enginePath: string;
  args: (checkMode: boolean) => string[];
  env: Record<string, string>;
}

/** Fixture options. */
export interface FixtureOptions {
  engines: number;
  launch: (idx: number, scmDir: string, socketDir: string) => EngineLaunch;
  /** Write superblocks before start (default true). */
  formatted?: boolean;
  /** Replace the default join (which assigns ranks). */
  join?: (
    req: JoinReq,
    assign: (req: JoinReq) => JoinResp,
    onRetry?: (err: unknown) => void,
  ) => Promise<JoinResp>;
  /** Wraps instance idx's superblock store (e.g. to make writes fail). */
  superblock?: (idx: number, store: SuperblockStore) => SuperblockStore;
  /** InstanceOptions.startupRetryMs of every instance. */
  startupRetryMs?: number;
}

/** A running fixture. */
export interface HarnessFixture {
  dir: string;
  socketDir: string;
  scmDirs: string[];
  harness: EngineHarness;
  logs: string[];
  events: RASEvent[];
  joins: JoinReq[];
  format(idx: number): Promise<void>;
  close(): Promise<void>;
}

/** Starts a fixture; the caller must close() it (try/finally). */
export async function startFixture(opts: FixtureOptions): Promise<HarnessFixture> {
  const dir = await Deno.makeTempDir({ prefix: "harness-test-" });
  const socketDir = `${dir}/run`;
  await Deno.mkdir(socketDir);
  const scmDirs: string[] = [];
  for (let i = 0; i < opts.engines; i++) {
    scmDirs.push(`${dir}/scm${i}`);
    await Deno.mkdir(scmDirs[i]);
  }
  const logs: string[] = [];
  const events: RASEvent[] = [];
  const joins: JoinReq[] = [];
  const log: HarnessLog = {
    debug: (m) => logs.push(`DEBUG ${m}`),
    info: (m) => logs.push(`INFO ${m}`),
    error: (m) => logs.push(`ERROR ${m}`),
  };
  // Rank assignment as the MS does it: by UUID, rank 0 on request, others from 1 upwards.
  const byUuid = new Map<string, number>();
  let nextRank = 1;
  let mapVersion = 1;
  const assign = (req: JoinReq): JoinResp => {
    let rank = byUuid.get(req.uuid);
    if (rank === undefined) {
      rank = req.rank !== NilRank ? req.rank : nextRank++;
      byUuid.set(req.uuid, rank);
    }
    return create(JoinRespSchema, { rank, mapVersion: ++mapVersion });
  };
  const format = async (idx: number) =>
    await writeSuperblock(scmDirs[idx], newSuperblock("daos_server", "/host1"));
  if (opts.formatted ?? true) { for (let i = 0; i < opts.engines; i++) await format(i); }

  const harness = new EngineHarness({
    log,
    controlAddr: "127.0.0.1:10001",
    instances: scmDirs.map((scm, index) => ({
      index,
      ...opts.launch(index, scm, socketDir),
      storage: superblockPresenceStorage(
        opts.superblock?.(index, dirSuperblockStore(scm)) ?? dirSuperblockStore(scm),
        20,
      ),
      startupRetryMs: opts.startupRetryMs,
      join: async (req, onRetry) => {
        joins.push(req);
        return opts.join ? await opts.join(req, assign, onRetry) : assign(req);
      },
      notifyEvent: (ev) => events.push(ev),
      log,
      systemName: "daos_server",
      controlAddr: "127.0.0.1:10001",
      faultDomain: "/host1",
      hostname: "host1",
      bootstrapReplica: true,
      socketDir,
    })),
  });
  const server = new DrpcServer(serverDrpcOptions(socketDir, log));
  registerServerModules(server, harness.srvModuleDeps());
  try {
    await server.start();
    await harness.start();
  } catch (e) {
    await harness.shutdown();
    await server.close();
    await Deno.remove(dir, { recursive: true });
    throw e;
  }
  return {
    dir,
    socketDir,
    scmDirs,
    harness,
    logs,
    events,
    joins,
    format,
    close: async () => {
      try {
        await harness.shutdown();
        await server.close();
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  };
}

/** The fake engine (testing/fake_engine.ts) run by this Deno, for instance idx. */
export function fakeEngineLaunch(env: Record<string, string> = {}) {
  const script = new URL("./fake_engine.ts", import.meta.url).pathname;
  const config = new URL("../../../deno.json", import.meta.url).pathname;
  return (idx: number, scmDir: string, socketDir: string): EngineLaunch => ({
    enginePath: Deno.execPath(),
    args: () => [
      "run",
      "--quiet",
      "--config",
      config,
      "-A",
      script,
      ...["-t", "1", "-I", String(idx), "-d", socketDir, "-s", scmDir],
    ],
    env: { ...Deno.env.toObject(), ...env },
  });
}
