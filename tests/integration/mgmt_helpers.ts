/**
 * Helpers for MS integration tests: free loopback ports, a cluster of MS replicas each with a
 * supervised local etcd member in a temp dir, and a scripted fan-out.
 */
import { FakePoolEngine } from "../../control/mgmt/pool/engine.ts";
import { create } from "@bufbuild/protobuf";
import { defaultMgmtSvcDbConfig, type MgmtSvcDbConfig } from "../../control/mgmt/db_config.ts";
import {
  type Fanout,
  ManagementService,
  type RanksMethod,
} from "../../control/mgmt/management_service.ts";
import { type RankResult, RankResultSchema } from "../../proto/gen/ts/shared/ranks_pb.ts";

/** A currently free TCP port on 127.0.0.1. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const p = (l.addr as Deno.NetAddr).port;
  l.close();
  return p;
}

/** Polls `f` every `stepMs` until it returns a truthy value or `timeoutMs` passes. */
export async function waitFor<T>(
  what: string,
  f: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  timeoutMs = 10000,
  stepMs = 50,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (let i = 0; i < 10000 && Date.now() < end; i++) {
    try {
      const v = await f();
      if (v) return v as T;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, stepMs));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last}` : ""}`);
}

/** Scripted fan-out: answers per method with the given state, records calls. */
export class FakeFanout implements Fanout {
  calls: { method: RanksMethod; host: string; ranks: number[]; force: boolean }[] = [];
  unreachable = new Set<string>();
  failRanks = new Set<number>();
  down = new Set<string>();

  callRanks(method: RanksMethod, byHost: Map<string, number[]>, force: boolean) {
    const out: RankResult[] = [];
    for (const [host, ranks] of byHost) {
      this.calls.push({ method, host, ranks, force });
      if (this.unreachable.has(host)) {
        return Promise.reject(new Error(`connection refused`));
      }
      const state = {
        PrepShutdownRanks: "stopping",
        StopRanks: "stopped",
        StartRanks: "ready",
        ResetFormatRanks: "awaitformat",
      }[method];
      for (const rank of ranks) {
        const failed = this.failRanks.has(rank);
        out.push(create(RankResultSchema, {
          rank,
          addr: host,
          errored: failed,
          state: failed ? "errored" : state,
          msg: failed ? "rank failed" : "",
        }));
      }
    }
    return Promise.resolve(out);
  }

  pingHost(addr: string): Promise<boolean> {
    return Promise.resolve(!this.down.has(addr));
  }
}

/** N MS replicas (addresses 127.0.0.1:<free port>), each with its own etcd member. */
export class MsCluster {
  readonly replicas: string[];
  readonly services: ManagementService[];
  readonly fanout = new FakeFanout();
  /** The engines' side of pool operations, shared by every replica. */
  readonly poolEngine = new FakePoolEngine();
  readonly db: MgmtSvcDbConfig;
  /** What the services logged, "<replica index>: <message>". */
  readonly logs: string[] = [];

  private constructor(readonly dir: string, n: number, system: string) {
    this.replicas = Array.from({ length: n }, () => `127.0.0.1:${freePort()}`);
    this.db = defaultMgmtSvcDbConfig();
    this.db.probeIntervalMs = 100;
    this.db.hostDeadAfterMs = 500;
    this.db.leaseTtlS = 1; // etcd's minimum with 500 ms elections: faster failover in tests
    for (const r of this.replicas) this.db.ports[r] = { client: freePort(), peer: freePort() };
    this.services = this.replicas.map((self, i) =>
      new ManagementService({
        config: {
          system,
          replicas: this.replicas,
          provider: "ofi+tcp",
          db: this.db,
          dataDir: `${dir}/r${i}`,
        },
        selfAddr: self,
        isReplica: true,
        fanout: this.fanout,
        log: (m) => this.logs.push(`${i}: ${m}`),
        poolEngine: this.poolEngine,
        targetsPerRank: this.poolEngine.targetsPerRank,
      })
    );
  }

  /** Starts `n` replicas and waits until one of them leads. */
  static async start(n: number, system = "daos_server"): Promise<MsCluster> {
    const dir = await Deno.makeTempDir({ prefix: "mgmt_test_" });
    const c = new MsCluster(dir, n, system);
    try {
      await Promise.all(c.services.map((s) => s.startDb()));
      await c.leader();
    } catch (e) {
      await c.close();
      throw e;
    }
    return c;
  }

  /** The leading service (waits for an election, bounded). */
  async leader(timeoutMs = 15000): Promise<ManagementService> {
    return await waitFor("an MS leader", async () => {
      const l = this.services.find((s) => s.election?.view().isLeader);
      if (!l) return undefined;
      await l.requireLeader();
      return l;
    }, timeoutMs);
  }

  /** Stops every service and etcd member and removes the temp dir. */
  async close(): Promise<void> {
    await Promise.all(this.services.map((s) => s.stop().catch(() => {})));
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}

let uuidCounter = 0;
/** A join request for engine `n` on host `addr`. */
export function joinReq(n: number, addr = "127.0.0.1:10001") {
  uuidCounter++;
  return {
    uuid: crypto.randomUUID(),
    rank: 0xffffffff,
    uri: `ofi+tcp://127.0.0.1:${20000 + n}`,
    nctxs: 4,
    addr,
    srvFaultDomain: `/host${n}`,
    idx: 0,
    incarnation: BigInt(uuidCounter),
    secondaryUris: [],
    secondaryNctxs: [],
    checkMode: false,
    replace: false,
  };
}
