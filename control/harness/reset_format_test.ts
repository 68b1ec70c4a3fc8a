import { deepEqual, equal, ok } from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { JoinRespSchema } from "../../proto/gen/ts/mgmt/svc_pb.ts";
import { EngineHarness } from "./harness.ts";
import type { InstanceOptions } from "./instance.ts";
import { resetFormatRanks } from "./rank_ops.ts";
import type { Superblock } from "../storage/superblock.ts";
import type { InstanceStorage } from "./types.ts";

const log = { debug() {}, info() {}, error() {} };

/** In-memory storage of one instance; records erases; `eraseError` makes erase fail. */
function memStorage(rank: number, calls: string[], eraseError?: string): InstanceStorage {
  let sb: Superblock | null = {
    version: 1,
    uuid: crypto.randomUUID(),
    system: "daos_server",
    rank,
    uri: "",
    validRank: true,
    hostFaultDomain: "/h",
    incarnation: 0n,
  };
  return {
    superblock: {
      read: () => Promise.resolve(sb),
      write: (x) => Promise.resolve(void (sb = x)),
      remove: () => Promise.resolve(void (sb = null)),
    },
    needsFormat: () => Promise.resolve(sb === null),
    awaitFormat: (signal) =>
      new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason))),
    erase: () => {
      calls.push(`erase ${rank}`);
      return eraseError ? Promise.reject(new Error(eraseError)) : Promise.resolve();
    },
  };
}

/** A harness whose "engines" exit at once (/bin/true): formatted, stopped instances. */
async function harness(calls: string[], eraseError?: string): Promise<EngineHarness> {
  const opts = (index: number): InstanceOptions => ({
    index,
    enginePath: "/bin/true",
    args: () => [],
    env: {},
    storage: memStorage(index, calls, index === 1 ? eraseError : undefined),
    join: () => Promise.resolve(create(JoinRespSchema, {})),
    notifyEvent: () => {},
    log,
    systemName: "daos_server",
    controlAddr: "127.0.0.1:10001",
    faultDomain: "/h",
    hostname: "h",
    bootstrapReplica: false,
  });
  const h = new EngineHarness({
    instances: [opts(0), opts(1)],
    controlAddr: "127.0.0.1:10001",
    log,
    eraseHostStorage: () => Promise.resolve(void calls.push("host")),
  });
  await h.start();
  for (const i of h.instances) {
    ok(await i.waitFor((x) => !x.isStarted() && x.info().lastExitStatus !== null, 10_000));
  }
  return h;
}

Deno.test("reset format erases each engine's storage; host storage only once all are reset", async () => {
  const calls: string[] = [];
  const h = await harness(calls);
  try {
    const one = await resetFormatRanks(h, [0], { timeoutMs: 10_000 });
    deepEqual(one.map((r) => [r.rank, r.state, r.errored]), [[0, "awaitformat", false]]);
    deepEqual(calls, ["erase 0"]); // engine 1 still formatted: host storage kept
    const both = await resetFormatRanks(h, [1], { timeoutMs: 10_000 });
    deepEqual(both.map((r) => [r.rank, r.state, r.errored]), [[1, "awaitformat", false]]);
    deepEqual(calls, ["erase 0", "erase 1"]);
  } finally {
    await h.shutdown();
  }
  const calls2: string[] = [];
  const h2 = await harness(calls2);
  try {
    await resetFormatRanks(h2, [0, 1], { timeoutMs: 10_000 });
    deepEqual(calls2, ["erase 0", "erase 1", "host"]);
  } finally {
    await h2.shutdown();
  }
});

Deno.test("reset format: an erase failure is that rank's error; it still awaits format", async () => {
  const calls: string[] = [];
  const h = await harness(calls, "umount: target is busy");
  try {
    const res = await resetFormatRanks(h, [0, 1], { timeoutMs: 10_000 });
    deepEqual(res.map((r) => [r.rank, r.state, r.errored]), [
      [0, "awaitformat", false],
      [1, "awaitformat", true],
    ]);
    equal(res[1].msg, "reset format: umount: target is busy");
  } finally {
    await h.shutdown();
  }
});
