/**
 * `dmg storage query list-devices`, `list-pools` and `device-health` (DAOS
 * cmd/dmg/storage_query.go): the hosts' SMD devices (or VOS pools) over their ready ranks →
 * printers/storage_query.ts (storage_list_pools.ts) through render.
 */
import type { Command } from "commander";
import { type HostAnswers } from "../../control/lib/control/host_errors.ts";
import {
  type HostSmd,
  smdQuery,
  type SmdQueryRequest,
} from "../../control/lib/control/storage_query.ts";
import { groupPayloads } from "../../control/lib/rpc/group.ts";
import { hostErrorsBlock } from "../printers/host_errors.ts";
import { formatSmdInfo, smdFingerprint, smdHostStorageJson } from "../printers/storage_query.ts";
import { smdListPools } from "../../control/lib/control/pool_smd.ts";
import {
  formatSmdPoolsInfo,
  smdPoolsFingerprint,
  smdPoolsHostStorageJson,
} from "../printers/storage_list_pools.ts";
import { render, request } from "../render.ts";
import { type CommandContext, commandGroup, type Runner } from "./context.ts";
import { storageGroup } from "./storage.ts";

const HOSTS_HELP = "a list of addresses <ipv4addr/hostname:port> to connect to";

/** Parses `-r/--rank` (a rank number, 0 to 4294967294). */
export function parseRank(s: string): number {
  const n = /^\d+$/.test(s) ? Number(s) : NaN;
  if (!Number.isSafeInteger(n) || n >= 0xFFFFFFFF) {
    throw new Error(`invalid argument for flag \`-r, --rank' (expected uint32): ${s}`);
  }
  return n;
}

/** Prints SMD answers: errors and device blocks on stdout, -j the HostStorage map. */
export function renderSmd(ctx: CommandContext, res: HostAnswers<HostSmd>, prefix = ""): void {
  const groups = groupPayloads(res.answers, smdFingerprint);
  render(ctx, {
    json: () => ({ host_errors: res.hostErrors.json(), HostStorage: smdHostStorageJson(groups) }),
    text: () => [["info", hostErrorsBlock(res.hostErrors) + formatSmdInfo(groups)]],
    error: res.hostErrors.summary(),
    // As `storage query usage`: in -j mode the host errors are in the payload only.
    jsonErrorInPayload: true,
  }, prefix);
}

async function query(
  ctx: CommandContext,
  hostList: string | undefined,
  req: SmdQueryRequest,
): Promise<HostAnswers<HostSmd>> {
  return await request(
    ctx,
    "",
    async () => smdQuery(await ctx.invoker(), await ctx.fanOutTargets(hostList), req),
  );
}

interface ListOptions {
  hostList?: string;
  rank?: string;
  health?: boolean;
  uuid?: string;
  showEvicted?: boolean;
}

interface ListPoolsOptions {
  hostList?: string;
  rank?: string;
  uuid?: string;
  verbose?: boolean;
}

interface HealthOptions {
  hostList?: string;
  uuid: string;
}

/** Registers `storage query list-devices` and `storage query device-health`. */
export function registerStorageQuerySmd(program: Command, run: Runner): void {
  const q = commandGroup(storageGroup(program), "query", undefined, "Query storage commands");
  q.command("list-devices")
    .description("List storage devices on the server")
    .option("-l, --host-list <hosts>", HOSTS_HELP)
    .option("-r, --rank <rank>", "constrain operation to the specified server rank")
    .option("-b, --health", "include device health in results")
    .option("-u, --uuid <uuid>", "device UUID (all devices if blank)")
    .option("-e, --show-evicted", "show only evicted faulty devices")
    .action(run(async (ctx, opts: ListOptions) => {
      const rank = opts.rank === undefined ? undefined : parseRank(opts.rank);
      const res = await query(ctx, opts.hostList, {
        rank,
        uuid: opts.uuid,
        health: opts.health === true,
        evictedOnly: opts.showEvicted === true,
      });
      renderSmd(ctx, res);
    }));
  q.command("list-pools")
    .description("List pools on the server")
    .option("-l, --host-list <hosts>", HOSTS_HELP)
    .option("-r, --rank <rank>", "constrain operation to the specified server rank")
    .option("-u, --uuid <uuid>", "pool UUID (all pools if blank)")
    .option("-v, --verbose", "show more detail about pools")
    .action(run(async (ctx, opts: ListPoolsOptions) => {
      const rank = opts.rank === undefined ? undefined : parseRank(opts.rank);
      const res = await request(
        ctx,
        "",
        async () =>
          smdListPools(await ctx.invoker(), await ctx.fanOutTargets(opts.hostList), {
            rank,
            uuid: opts.uuid,
          }),
      );
      const groups = groupPayloads(res.answers, smdPoolsFingerprint);
      render(ctx, {
        json: () => ({
          host_errors: res.hostErrors.json(),
          HostStorage: smdPoolsHostStorageJson(groups),
        }),
        text: () => [[
          "info",
          hostErrorsBlock(res.hostErrors) + formatSmdPoolsInfo(groups, opts.verbose === true),
        ]],
        error: res.hostErrors.summary(),
        jsonErrorInPayload: true,
      });
    }));
  q.command("device-health")
    .description("Query the device health")
    .option("-l, --host-list <hosts>", HOSTS_HELP)
    .requiredOption("-u, --uuid <uuid>", "device UUID")
    .action(run(async (ctx, opts: HealthOptions) => {
      const res = await query(ctx, opts.hostList, { uuid: opts.uuid, health: true });
      renderSmd(ctx, res);
    }));
}
