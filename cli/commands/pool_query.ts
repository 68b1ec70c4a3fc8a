/**
 * `dmg pool query` (spec/dmg.md §5.14) and `dmg pool query-targets` (the reference's
 * PrintPoolQueryTargetResponse). The pool info and its JSON come from
 * control/lib/control/pool_info.ts, shared with `pool list`.
 */
import type { Command } from "commander";
import * as api from "../../control/lib/control/pool.ts";
import {
  maskHas,
  type PoolInfo,
  poolInfoFromQuery,
  poolInfoJson,
  PoolQueryBit,
} from "../../control/lib/control/pool_info.ts";
import { systemGetProp } from "../../control/lib/control/system_attrs.ts";
import { DaosStatusError } from "../../control/lib/fault.ts";
import {
  PoolPropNumber,
  SELF_HEAL_AUTO_EXCLUDE,
  SELF_HEAL_AUTO_REBUILD,
} from "../../control/lib/pool_props.ts";
import { parseRankSet } from "../../control/lib/rankset.ts";
import { formatBytes } from "../../control/lib/sizes.ts";
import { SELF_HEAL_DEFAULT } from "../../control/lib/system_props.ts";
import {
  type PoolQueryTargetInfo,
  PoolQueryTargetInfo_TargetState,
  PoolQueryTargetInfo_TargetType,
  type PoolQueryTargetResp,
  StorageMediaType,
} from "../../proto/gen/ts/mgmt/pool_pb.ts";
import type { GoJsonValue } from "../output/gojson.ts";
import { render, request } from "../render.ts";
import { type CommandContext, DEFAULT_QUERY_MS, type RegisterCommands } from "./context.ts";

/** Flags of `pool query`. */
export interface PoolQueryFlags {
  healthOnly?: boolean;
  showEnabled?: boolean;
  selfHealCheck?: boolean;
}

const ALL_BITS = (1n << 64n) - 1n;

/**
 * The query mask of §5.14: all bits but enabled/dead engines and self-heal (default) or but
 * enabled engines, space and self-heal (`-t`); then self_heal_policy unless
 * `--no-self-heal-check`, enabled_engines with `-e`, and disabled_engines always.
 */
export function poolQueryMaskFor(f: PoolQueryFlags): bigint {
  const b = PoolQueryBit;
  let mask = f.healthOnly
    ? ALL_BITS & ~(b.enabled_engines | b.space | b.self_heal_policy)
    : ALL_BITS & ~(b.enabled_engines | b.dead_engines | b.self_heal_policy);
  if (f.selfHealCheck !== false) mask |= b.self_heal_policy;
  if (f.showEnabled) mask |= b.enabled_engines;
  return mask | b.disabled_engines;
}

/** A pool self_heal property value (bits) as the policy string (`exclude;rebuild`, `none`). */
export function poolSelfHealString(bits: number): string {
  const parts: string[] = [];
  if (bits & SELF_HEAL_AUTO_EXCLUDE) parts.push("exclude");
  if (bits & SELF_HEAL_AUTO_REBUILD) parts.push("rebuild");
  return parts.length === 0 ? "none" : parts.join(";");
}

/**
 * The "… disabled on pool due to [pool system] policy|policies" lines: exclude is governed
 * by the pool's `exclude` and the system's `pool_exclude` flag, rebuild by `rebuild` and
 * `pool_rebuild` (the reference's PrintPoolSelfHealDisable).
 */
export function selfHealDisableLines(poolPolicy: string, sysPolicy: string): string[] {
  const pool = new Set(poolPolicy.split(";").map((s) => s.trim()));
  const sys = new Set(sysPolicy.split(";").map((s) => s.trim()));
  const out: string[] = [];
  for (
    const [what, poolFlag, sysFlag] of [
      ["exclude", "exclude", "pool_exclude"],
      ["rebuild", "rebuild", "pool_rebuild"],
    ] as const
  ) {
    const byPool = !pool.has(poolFlag);
    const bySys = !sys.has(sysFlag);
    if (byPool && bySys) out.push(`${what} disabled on pool due to [pool system] policies`);
    else if (byPool) out.push(`${what} disabled on pool due to [pool] policy`);
    else if (bySys) out.push(`${what} disabled on pool due to [system] policy`);
  }
  return out;
}

function tierName(mediaType: string): string {
  return mediaType.toUpperCase();
}

/** The text of §5.14 (without a trailing newline). */
export function printPoolQuery(pi: PoolInfo, sysSelfHeal?: string): string {
  const lines: string[] = [
    `Pool ${pi.uuid}, ntarget=${pi.totalTargets}, disabled=${pi.disabledTargets}, ` +
    `leader=${pi.svcLdr}, version=${pi.version}, state=${pi.state}`,
  ];
  if (pi.poolLayoutVer !== pi.upgradeLayoutVer) {
    lines.push(
      `Pool layout out of date (${pi.poolLayoutVer} < ${pi.upgradeLayoutVer}) -- see ` +
        "`dmg pool upgrade` for details.",
    );
  }
  lines.push("Pool health info:");
  if (pi.enabledRanks && !pi.enabledRanks.empty) {
    lines.push(`- Enabled ranks: ${pi.enabledRanks.toString()}`);
  }
  if (pi.disabledRanks && !pi.disabledRanks.empty) {
    lines.push(`- Disabled ranks: ${pi.disabledRanks.toString()}`);
  }
  if (pi.deadRanks && !pi.deadRanks.empty) {
    lines.push(`- Dead ranks: ${pi.deadRanks.toString()}`);
  }
  const rb = pi.rebuild;
  if (rb) {
    if (rb.derivedState === rb.state) {
      lines.push(`- Rebuild ${rb.state}, ${rb.objects} objs, ${rb.records} recs`);
    } else {
      lines.push(`- Rebuild ${rb.derivedState} (state=${rb.state}, status=${rb.status})`);
    }
    lines.push(`- Data redundancy: ${rb.degraded ? "degraded" : "normal"}`);
  } else {
    lines.push("- No rebuild status available.");
  }
  if (maskHas(pi.queryMask, "space") && pi.tierStats) {
    lines.push("Pool space info:", `- Target count:${pi.activeTargets}`);
    pi.tierStats.forEach((t, i) => {
      lines.push(
        `- Storage tier ${i} (${tierName(t.mediaType)}):`,
        `  Total size: ${formatBytes(t.total)}`,
        `  Free: ${formatBytes(t.free)}, min:${formatBytes(t.min)}, ` +
          `max:${formatBytes(t.max)}, mean:${formatBytes(t.mean)}`,
      );
    });
  }
  if (pi.selfHealPolicy !== "") {
    lines.push(...selfHealDisableLines(pi.selfHealPolicy, sysSelfHeal ?? SELF_HEAL_DEFAULT));
  }
  return lines.join("\n");
}

async function msArgs(ctx: CommandContext) {
  return {
    sys: (await ctx.config()).name,
    inv: await ctx.invoker(),
    opts: await ctx.msOptions(DEFAULT_QUERY_MS),
  };
}

/** `dmg pool query <pool> [-t] [-e] [--no-self-heal-check]`. */
export async function poolQuery(ctx: CommandContext, id: string, f: PoolQueryFlags): Promise<void> {
  const queryMask = poolQueryMaskFor(f);
  const { pi, sysSelfHeal } = await request(ctx, "pool query failed", async () => {
    const { sys, inv, opts } = await msArgs(ctx);
    const r = await api.poolQuery(inv, opts, { sys, id, queryMask });
    if (r.status !== 0) throw new DaosStatusError(r.status);
    // The MS echoes the mask; an older one may not, and the printer goes by the mask.
    if (r.queryMask === 0n) r.queryMask = queryMask;
    const pi = poolInfoFromQuery(r);
    let sysSelfHeal: string | undefined;
    if (maskHas(queryMask, "self_heal_policy")) {
      const p = await api.poolGetProp(inv, opts, {
        sys,
        id,
        properties: [{ number: PoolPropNumber.SELF_HEAL }],
      });
      if (p.status !== 0) throw new DaosStatusError(p.status);
      const v = p.properties.find((x) => x.number === PoolPropNumber.SELF_HEAL)?.value;
      // Not set (or not returned) means the default: exclude and rebuild.
      pi.selfHealPolicy = v?.case === "numval"
        ? poolSelfHealString(Number(v.value))
        : "exclude;rebuild";
      // The system half of the policy lines; JSON does not carry it.
      if (!ctx.json) {
        const props = await systemGetProp(inv, opts, { sys, keys: ["self_heal"] });
        sysSelfHeal = props.find((x) => x.key === "self_heal")?.value || SELF_HEAL_DEFAULT;
      }
    }
    return { pi, sysSelfHeal };
  });
  render(ctx, {
    json: () => poolInfoJson(pi),
    text: () => [["info", printPoolQuery(pi, sysSelfHeal)]],
  });
}

const TARGET_TYPE_NAMES: Record<number, string> = {
  [PoolQueryTargetInfo_TargetType.UNKNOWN]: "unknown",
  [PoolQueryTargetInfo_TargetType.HDD]: "hdd",
  [PoolQueryTargetInfo_TargetType.SSD]: "ssd",
  [PoolQueryTargetInfo_TargetType.PM]: "pm",
  [PoolQueryTargetInfo_TargetType.VM]: "vm",
};

const TARGET_STATE_NAMES: Record<number, string> = {
  [PoolQueryTargetInfo_TargetState.STATE_UNKNOWN]: "unknown",
  [PoolQueryTargetInfo_TargetState.DOWN_OUT]: "down_out",
  [PoolQueryTargetInfo_TargetState.DOWN]: "down",
  [PoolQueryTargetInfo_TargetState.UP]: "up",
  [PoolQueryTargetInfo_TargetState.UP_IN]: "up_in",
  [PoolQueryTargetInfo_TargetState.NEW]: "new",
  [PoolQueryTargetInfo_TargetState.DRAIN]: "drain",
};

function mediaName(m: StorageMediaType): string {
  return m === StorageMediaType.NVME ? "nvme" : "scm";
}

/** `Target: type <t>, state <s>` and the per-tier total/free lines of every target. */
export function printPoolQueryTargets(infos: readonly PoolQueryTargetInfo[]): string {
  const lines: string[] = [];
  for (const info of infos) {
    lines.push(
      `Target: type ${TARGET_TYPE_NAMES[info.type] ?? "unknown"}, ` +
        `state ${TARGET_STATE_NAMES[info.state] ?? "unknown"}`,
    );
    info.space.forEach((s, i) => {
      lines.push(
        `- Storage tier ${i} (${tierName(mediaName(s.mediaType))}):`,
        `  Total size: ${formatBytes(s.total)}`,
        `  Free: ${formatBytes(s.free)}`,
      );
    });
  }
  return lines.join("\n");
}

/** `-j` payload of query-targets (the reference's PoolQueryTargetResp). */
export function poolQueryTargetsJson(resp: PoolQueryTargetResp): GoJsonValue {
  return {
    status: resp.status,
    Infos: resp.infos.map((info) => ({
      target_type: TARGET_TYPE_NAMES[info.type] ?? "unknown",
      target_state: TARGET_STATE_NAMES[info.state] ?? "unknown",
      space: info.space.map((s) => ({
        total: s.total,
        free: s.free,
        media_type: mediaName(s.mediaType),
      })),
      mem_file_bytes: info.memFileBytes,
    })),
  };
}

/** Flags of `pool query-targets`. */
export interface QueryTargetsFlags {
  rank?: string;
  targetIdx?: string;
}

/** Parses `--rank` (required, one rank number). */
export function parseQueryRank(text: string | undefined): number {
  if (text === undefined) throw new Error("the required flag `--rank' was not specified");
  const s = text.trim();
  if (!/^\d+$/.test(s) || Number(s) >= 0xFFFFFFFF) {
    throw new Error(`invalid --rank ${JSON.stringify(text)} (want one rank number, e.g. 3)`);
  }
  return Number(s);
}

/**
 * `dmg pool query-targets <pool> --rank R [--target-idx T]`. Without `--target-idx` every
 * target of the rank is asked for: a pool query gives the count (targets per engine).
 */
export async function poolQueryTargets(
  ctx: CommandContext,
  id: string,
  f: QueryTargetsFlags,
): Promise<void> {
  const rank = parseQueryRank(f.rank);
  const given = f.targetIdx === undefined || f.targetIdx.trim() === ""
    ? undefined
    : parseRankSet(f.targetIdx).ranks();
  const { sys, inv, opts } = await msArgs(ctx);
  let targets = given;
  if (targets === undefined) {
    const pq = await request(ctx, "pool query failed", async () => {
      const r = await api.poolQuery(inv, opts, {
        sys,
        id,
        queryMask: poolQueryMaskFor({ selfHealCheck: false }),
      });
      if (r.status !== 0) throw new DaosStatusError(r.status);
      return r;
    });
    if (pq.totalTargets === 0 || pq.totalEngines === 0) {
      const err = new Error("failed to derive target count from pool query");
      if (ctx.json) ctx.envelope.write(null, err);
      throw err;
    }
    const n = Math.floor(pq.totalTargets / pq.totalEngines);
    targets = Array.from({ length: n }, (_, i) => i);
  }
  const resp = await request(ctx, "pool query targets failed", async () => {
    const r = await api.poolQueryTarget(inv, opts, { sys, id, rank, targets });
    if (r.status !== 0) throw new DaosStatusError(r.status);
    return r;
  });
  render(ctx, {
    json: () => poolQueryTargetsJson(resp),
    text: () => [["info", printPoolQueryTargets(resp.infos)]],
  });
}

/** Registers `pool query` and `pool query-targets`. */
export function registerPoolQuery(pool: Command, run: Parameters<RegisterCommands>[1]): void {
  pool.command("query").description("Query a DAOS pool")
    .option("-t, --health-only", "Only perform pool health related queries")
    .option("-e, --show-enabled", "Show engine unique identifiers (ranks) which are enabled")
    .option("--no-self-heal-check", "Do not query the pool's self-heal policy")
    .argument("<pool>", "pool label or UUID")
    .action(run((ctx, id: string, f: PoolQueryFlags) => poolQuery(ctx, id, f)));

  pool.command("query-targets").description("Query a DAOS pool engine's targets")
    .option("--rank <rank>", "Engine rank of the target(s) to be queried")
    .option(
      "--target-idx <idx>",
      "Comma-separated list of target index(es) to be queried (default: all)",
    )
    .argument("<pool>", "pool label or UUID")
    .action(run((ctx, id: string, f: QueryTargetsFlags) => poolQueryTargets(ctx, id, f)));
}
