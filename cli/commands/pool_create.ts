/**
 * `dmg pool create <label>` (spec/dmg.md §5.12): mode selection and its errors, the info and
 * notice lines, `-z N%` through SystemQuery + a usage StorageScan, the PoolCreate request
 * (retried by the control API) and the entity block / JSON of the reply.
 */
import type { Command } from "commander";
import type { PoolCreateResp } from "../../proto/gen/ts/mgmt/pool_pb.ts";
import * as api from "../../control/lib/control/pool.ts";
import {
  checkJoinedRanks,
  DEFAULT_TIER_RATIO,
  maxPoolSize,
  parseSizeFlag,
  parseTierRatio,
  percentOf,
  ratioPercent,
} from "../../control/lib/control/pool_create.ts";
import { storageUsage } from "../../control/lib/control/storage.ts";
import { systemQuery } from "../../control/lib/control/system.ts";
import { DaosStatusError } from "../../control/lib/fault.ts";
import {
  labelIsValid,
  parsePoolProps,
  PoolPropNumber,
  type PoolPropSetting,
} from "../../control/lib/pool_props.ts";
import { parseRankSet, RankSet } from "../../control/lib/rankset.ts";
import { formatBytes, parseBytes } from "../../control/lib/sizes.ts";
import { formatEntity } from "../../control/lib/txtfmt.ts";
import type { GoJsonValue } from "../output/gojson.ts";
import { render, request } from "../render.ts";
import type { CommandContext, Runner } from "./context.ts";

/** `pool create`'s flags as commander gives them. */
export interface PoolCreateFlags {
  size?: string;
  tierRatio?: string;
  nranks?: string;
  nsvc?: string;
  scmSize?: string;
  nvmeSize?: string;
  metaSize?: string;
  dataSize?: string;
  memRatio?: string;
  ranks?: string;
  user?: string;
  group?: string;
  properties?: string[];
  aclFile?: string;
}

const COMBO_ERROR =
  "unsupported option combination, use (--scm-size and --nvme-size) or (--meta-size and --data-size) or (--size)";

/** What the flags resolve to: the request's size fields and the lines to print first. */
interface CreatePlan {
  mode: "percent" | "auto" | "manual";
  percent?: number;
  totalBytes?: bigint;
  tierRatio?: number[];
  numRanks?: number;
  tierBytes?: bigint[];
  memRatio?: number;
  notices: string[];
  infos: string[];
}

function parseCount(text: string, flag: string): number {
  if (!/^\d+$/.test(text.trim())) {
    throw new Error(`invalid ${flag} "${text}": expected a non-negative integer`);
  }
  return Number(text.trim());
}

/** `--mem-ratio PCT` (1–100, `%` optional) as a fraction. */
function parseMemRatio(text: string): number {
  const t = text.trim().replace(/%$/, "");
  const v = Number(t);
  if (t === "" || !Number.isFinite(v) || v <= 0 || v > 100) {
    throw new Error(`invalid --mem-ratio "${text}": expected a percentage in 0 < ratio <= 100`);
  }
  return v / 100;
}

/** Mode selection of §5.12 (first match wins) and the info/notice lines of each mode. */
export function planPoolCreate(f: PoolCreateFlags): CreatePlan {
  const manualPmem = f.scmSize !== undefined || f.nvmeSize !== undefined;
  const manualMd = f.metaSize !== undefined || f.dataSize !== undefined;
  const hasSize = f.size !== undefined;
  if ((hasSize && (manualPmem || manualMd)) || (manualPmem && manualMd)) {
    throw new Error(COMBO_ERROR);
  }
  if (!hasSize && !manualPmem && !manualMd) throw new Error(COMBO_ERROR);
  const plan: CreatePlan = { mode: "auto", notices: [], infos: [] };
  if (hasSize) {
    const size = parseSizeFlag(f.size ?? "");
    if ("percent" in size) {
      if (f.nranks !== undefined) throw new Error("--size=% may not be mixed with --nranks");
      if (f.tierRatio !== undefined) throw new Error("--size=% may not be mixed with --tier-ratio");
      plan.mode = "percent";
      plan.percent = size.percent;
      if (f.memRatio !== undefined) plan.memRatio = parseMemRatio(f.memRatio);
      plan.infos.push(`Creating DAOS pool with ${size.percent}% of all storage`);
      return plan;
    }
    if (f.nranks !== undefined && f.ranks !== undefined) {
      throw new Error("--nranks may not be mixed with --ranks");
    }
    plan.totalBytes = size.bytes;
    plan.tierRatio = parseTierRatio(f.tierRatio ?? DEFAULT_TIER_RATIO);
    if (f.nranks !== undefined) plan.numRanks = parseCount(f.nranks, "--nranks");
    if (f.memRatio !== undefined) plan.memRatio = parseMemRatio(f.memRatio);
    plan.infos.push(
      `Creating DAOS pool with automatic storage allocation: ${formatBytes(size.bytes)} total, ${
        (plan.tierRatio[0] * 100).toFixed(2)
      }% storage tier ratio` + (plan.numRanks ? ` with ${plan.numRanks} ranks` : ""),
    );
    return plan;
  }
  plan.mode = "manual";
  if (f.nranks !== undefined) throw new Error("--nranks may not be mixed with --scm-size");
  if (f.tierRatio !== undefined) throw new Error("--tier-ratio may not be mixed with --scm-size");
  if (manualPmem) {
    if (f.memRatio !== undefined) {
      throw new Error("--mem-ratio may not be mixed with --scm-size or --nvme-size");
    }
    if (f.scmSize === undefined) throw new Error("--nvme-size cannot be set without --scm-size");
    const scm = parseBytes(f.scmSize);
    const nvme = f.nvmeSize === undefined ? 0n : parseBytes(f.nvmeSize);
    plan.tierBytes = [scm, nvme];
    if (nvme === 0n) plan.notices.push("Creating DAOS pool with only a single tier of storage");
    plan.infos.push(
      `Creating DAOS pool with manual per-engine storage allocation: ${formatBytes(scm)} SCM, ${
        formatBytes(nvme)
      } NVMe (${ratioPercent(scm, nvme)}% storage tier ratio)`,
    );
    return plan;
  }
  if (f.metaSize === undefined) throw new Error("--data-size cannot be set without --meta-size");
  const meta = parseBytes(f.metaSize);
  const data = f.dataSize === undefined ? 0n : parseBytes(f.dataSize);
  plan.tierBytes = [meta, data];
  plan.memRatio = f.memRatio === undefined ? 1 : parseMemRatio(f.memRatio);
  if (data === 0n) plan.notices.push("Creating DAOS pool with only a single tier of storage");
  plan.infos.push(
    `Creating DAOS pool in MD-on-SSD mode with manual per-engine storage allocation: ${
      formatBytes(meta)
    } metadata, ${formatBytes(data)} data (${ratioPercent(meta, data)}% storage tier ratio) ` +
      `and ${(plan.memRatio * 100).toFixed(2)}% memory-file:meta-blob size ratio`,
  );
  return plan;
}

/** `NAME@` / `NAME@DOMAIN` (the reference appends `@` when missing). */
function principal(name: string): string {
  return name.includes("@") ? name : `${name}@`;
}

/** Name of `id` in an /etc/passwd or /etc/group style file, if listed. */
function nameOfId(path: string, id: number): string | undefined {
  try {
    for (const line of Deno.readTextFileSync(path).split("\n")) {
      const f = line.split(":");
      if (f.length > 2 && Number(f[2]) === id && f[2] !== "") return f[0];
    }
  } catch {
    // Unreadable: fall back to the caller's default.
  }
  return undefined;
}

function effectiveUser(): string {
  const uid = Deno.uid() ?? 0;
  return nameOfId("/etc/passwd", uid) ?? Deno.env.get("USER") ?? String(uid);
}

function effectiveGroup(): string {
  const gid = Deno.gid() ?? 0;
  return nameOfId("/etc/group", gid) ?? String(gid);
}

/** ACEs of an ACL file: one per line, blank lines and `#` comments skipped. */
async function readAclFile(path: string): Promise<string[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new Error(`unable to read ACL file "${path}": ${why}`);
  }
  const aces: string[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.replace(/#.*$/, "").trim();
    if (line === "") continue;
    if (!/^[ADUL]+:[GF]*:[^:]+:[rwcdtTaAoO]+$/.test(line)) {
      throw new Error(
        `invalid ACE "${line}" in ACL file "${path}" (expected TYPE:FLAGS:PRINCIPAL:PERMS, e.g. A::OWNER@:rw)`,
      );
    }
    aces.push(line);
  }
  if (aces.length === 0) throw new Error(`no entries in ACL file "${path}"`);
  return aces;
}

/** The entity block of a successful create (§5.12 examples), with the caller's final `\n`. */
export function printPoolCreate(uuid: string, resp: PoolCreateResp): string {
  if (resp.tierBytes.length === 0) throw new Error("create response had 0 storage tiers");
  const nranks = BigInt(resp.tgtRanks.length);
  if (nranks === 0n) throw new Error("create response had 0 target ranks");
  const md = resp.memFileBytes > 0n;
  const tiers = resp.tierBytes.map((b, i) => ({ b, i })).filter((t) => t.b > 0n);
  const sum = resp.tierBytes.reduce((a, b) => a + b, 0n);
  const ratios = tiers.map((t) => ratioPercent(t.b, sum - t.b) + "%");
  const attrs: [string, string][] = [
    ["UUID", uuid],
    ["Service Leader", String(resp.svcLdr)],
    ["Service Ranks", RankSet.fromRanks(resp.svcReps).toRangedString()],
    ["Storage Ranks", RankSet.fromRanks(resp.tgtRanks).toRangedString()],
    ["Total Size", formatBytes(sum * nranks)],
  ];
  const perRank = (b: bigint) => `${formatBytes(b * nranks)} (${formatBytes(b)} / rank)`;
  for (const t of tiers) {
    const key = md
      ? (t.i === 0 ? "Metadata Storage" : "Data Storage")
      : `Storage tier ${t.i} (${t.i === 0 ? "SCM" : "NVMe"})`;
    attrs.push([key, perRank(t.b)]);
  }
  if (md) attrs.push(["Memory File Size", perRank(resp.memFileBytes)]);
  return formatEntity(`Pool created with ${ratios.join(",")} storage tier ratio`, attrs) + "\n";
}

/** The `-j` response of a successful create. */
export function poolCreateJson(uuid: string, resp: PoolCreateResp): GoJsonValue {
  return {
    uuid,
    svc_ldr: resp.svcLdr,
    svc_reps: resp.svcReps.length ? [...resp.svcReps] : null,
    tgt_ranks: resp.tgtRanks.length ? [...resp.tgtRanks] : null,
    tier_bytes: resp.tierBytes.length ? [...resp.tierBytes] : null,
    mem_file_bytes: resp.memFileBytes,
    md_on_ssd_active: resp.memFileBytes > 0n,
  };
}

/** `dmg pool create`. */
export async function poolCreate(
  ctx: CommandContext,
  label: string | undefined,
  f: PoolCreateFlags,
): Promise<void> {
  if (label === undefined) throw new Error("the required argument `<pool label>` was not provided");
  if (!labelIsValid(label)) throw new Error(`invalid label "${label}"`);
  let props: PoolPropSetting[] = [];
  for (const p of f.properties ?? []) {
    try {
      props = props.concat(parsePoolProps(p, true));
    } catch (e) {
      throw new Error(`failed to generate PoolCreate request: ${(e as Error).message}`, {
        cause: e,
      });
    }
  }
  if (props.some((p) => p.def.number === PoolPropNumber.LABEL)) {
    throw new Error("can't set label property with label argument");
  }
  const plan = planPoolCreate(f);
  const ranks = f.ranks === undefined ? [] : parseRankSet(f.ranks).ranks();
  const nsvc = f.nsvc === undefined ? 0 : parseCount(f.nsvc, "--nsvc");
  let acl: string[] = [];
  if (f.aclFile !== undefined) {
    try {
      acl = await readAclFile(f.aclFile);
    } catch (e) {
      throw new Error(`failed to generate PoolCreate request: ${(e as Error).message}`, {
        cause: e,
      });
    }
  }
  if (!ctx.json) {
    for (const n of plan.notices) ctx.log.notice(n);
    for (const i of plan.infos) ctx.log.info(i);
  }
  const sys = (await ctx.config()).name;
  const created = await request(ctx, "pool create failed", async () => {
    const inv = await ctx.invoker();
    if (plan.mode === "percent") {
      const members = await systemQuery(inv, await ctx.msOptions(), { sys });
      checkJoinedRanks(members.members, ranks);
      const usage = await storageUsage(inv, await ctx.fanOutTargets(), {});
      const err = usage.hostErrors.summary();
      if (err !== undefined) throw new Error(err);
      const max = maxPoolSize(usage.answers, ranks);
      const pct = plan.percent ?? 100;
      plan.tierBytes = [percentOf(max.scm, pct), percentOf(max.nvme, pct)];
    }
    const resp = await api.poolCreate(inv, await ctx.msOptions(api.POOL_CREATE_TIMEOUT_MS), {
      sys,
      user: principal(f.user ?? effectiveUser()),
      userGroup: principal(f.group ?? effectiveGroup()),
      acl,
      properties: [
        { number: PoolPropNumber.LABEL, value: { case: "strval", value: label } },
        ...props.map((s) => ({
          number: s.def.number,
          value: typeof s.value === "number"
            ? { case: "numval" as const, value: BigInt(s.value) }
            : { case: "strval" as const, value: s.value },
        })),
      ],
      numSvcReps: nsvc,
      totalBytes: plan.totalBytes ?? 0n,
      tierRatio: plan.tierRatio ?? [],
      numRanks: plan.numRanks ?? 0,
      ranks,
      tierBytes: plan.tierBytes ?? [],
      memRatio: plan.memRatio ?? 0,
    });
    if (resp.status !== 0) throw new DaosStatusError(resp.status);
    return resp;
  });
  const md = created.memFileBytes > 0n;
  const [scm = 0n, nvme = 0n] = created.tierBytes;
  // A PMem pool with under 1 % SCM works, but slowly (reference warning).
  const lowRatio = !md && nvme > 0n && Number(scm) / Number(scm + nvme) < 0.01;
  render(ctx, {
    json: () => poolCreateJson(created.uuid, created),
    text: () => [
      [
        "notice",
        lowRatio ? "storage tier ratio is less than 1.00%, DAOS performance may suffer!" : "",
      ],
      ["info", printPoolCreate(created.uuid, created)],
    ],
  });
}

function collect(value: string, prev: string[] | undefined): string[] {
  return [...(prev ?? []), value];
}

/** Registers `dmg pool create` on the pool group. */
export function registerPoolCreate(pool: Command, run: Runner): void {
  pool.command("create").description("Create a DAOS pool")
    .option("-z, --size <size>", "total size of DAOS pool or its percentage ratio (auto)")
    .option(
      "-t, --tier-ratio <ratio>",
      "percentage of storage tiers for pool storage (auto; default: 6,94)",
    )
    .option("-k, --nranks <n>", "number of ranks to use (auto)")
    .option("-v, --nsvc <n>", "number of pool service replicas")
    .option("-s, --scm-size <size>", "per-engine SCM allocation for DAOS pool (manual)")
    .option("-n, --nvme-size <size>", "per-engine NVMe allocation for DAOS pool (manual)")
    .option("--meta-size <size>", "in MD-on-SSD mode specify meta blob size (manual)")
    .option("--data-size <size>", "in MD-on-SSD mode specify data blob size (manual)")
    .option("--mem-ratio <pct>", "in MD-on-SSD mode specify memory-file:meta-blob size ratio")
    .option("-r, --ranks <ranks>", "storage server unique identifiers (ranks) for DAOS pool")
    .option("-u, --user <name>", "user who will own the pool (username@[domain])")
    .option("-g, --group <name>", "user group who will own the pool (groupname@[domain])")
    .option(
      "-P, --properties <props>",
      "pool properties to be set (name:value[,name:value])",
      collect,
    )
    .option("-a, --acl-file <path>", "access control list file path for DAOS pool")
    // Optional for commander so that a missing label gets the reference's message.
    .argument("[label]", "pool label (required)")
    .action(
      run((ctx, label: string | undefined, o: PoolCreateFlags) => poolCreate(ctx, label, o)),
    );
}
