/**
 * SystemErase on the leader (server.md §4.6): reset-format every member, then wipe the MS
 * database and, with local etcd members, have every replica drop its member and data.
 */
import type { RankResult } from "../../../proto/gen/ts/shared/ranks_pb.ts";
import type { OpsContext } from "./context.ts";
import { applyRankResults, fanAction } from "./system.ts";

/** What an erase needs besides the common operation context. */
export interface EraseContext extends OpsContext {
  /** The system name (told to the peer replicas). */
  system: string;
  /** Stops group updates and waits for the one in flight. */
  haltGroupUpdates(): Promise<void>;
  /** Restarts them while this replica still leads (the erase was refused). */
  resumeGroupUpdates(): void;
  /** Deletes the whole database (serialized with the writes; NotLeader when deposed). */
  wipe(): Promise<void>;
  /** True when the database is an external etcd (no local members to drop). */
  externalDb: boolean;
  /** With an external database: what a new leader writes first (the provider attribute). */
  stepUp(): Promise<void>;
  /** The other replicas, told to drop their local database. */
  otherReplicas: string[];
  /** Stops this replica's database and deletes its data. */
  dropLocalDb(): Promise<void>;
}

/**
 * Erases the system: an empty list when the database was wiped, else the reset-format results
 * with an error (nothing wiped; the failed ranks' states updated).
 */
export async function systemErase(ctx: EraseContext): Promise<RankResult[]> {
  const members = [...(await ctx.state()).members.values()];
  // No map of this system may reach a host after its reset format made it forget the held
  // map: the next system's versions start again at 1 and engines ignore lower versions.
  await ctx.haltGroupUpdates();
  if (members.length > 0) {
    let res: RankResult[];
    try {
      res = await fanAction(ctx, "ResetFormatRanks", "reset format", members, false);
    } catch (e) {
      ctx.resumeGroupUpdates();
      throw e;
    }
    if (res.some((r) => r.errored)) {
      ctx.resumeGroupUpdates();
      await applyRankResults(ctx, res);
      return res;
    }
  }
  await ctx.wipe();
  if (ctx.externalDb) {
    // External etcd: the keys are gone; the DB keeps running. Re-establish the provider
    // attribute for the next format + join round.
    await ctx.stepUp();
    return [];
  }
  // As the reference (peers erase, then the leader re-execs): every replica drops its local
  // etcd member and data; they bootstrap afresh once engine 0's storage is formatted again.
  // Until then the system is uninitialized. Peers that cannot be told are only logged.
  await Promise.all(
    ctx.otherReplicas.map(async (addr) => {
      try {
        if (!ctx.fanout.eraseReplica) throw new Error("no peer erase configured");
        await ctx.fanout.eraseReplica(addr, ctx.system);
      } catch (e) {
        ctx.log(`erase of replica ${addr}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }),
  );
  await ctx.dropLocalDb();
  return [];
}
