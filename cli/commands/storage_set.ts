/**
 * `dmg storage set nvme-faulty`, `storage replace nvme` and `storage led check|identify`
 * (DAOS cmd/dmg/storage_query.go): device state changes on the engine owning the device, with
 * the reference's confirmations and flag checks; LED requests go to the hosts, which refuse
 * them where no VMD drives a status LED.
 */
import { type Command, Option } from "commander";
import { leafAlias } from "./flag_collisions.ts";
import {
  type LedRequest,
  smdLed,
  smdManage,
  type SmdManageOp,
} from "../../control/lib/control/storage_query.ts";
import { request } from "../render.ts";
import { type CommandContext, commandGroup, type Runner } from "./context.ts";
import { storageGroup } from "./storage.ts";
import { renderSmd } from "./storage_query.ts";

const HOSTS_HELP = "a list of addresses <ipv4addr/hostname:port> to connect to";

/** Where the yes/no answer comes from (stdin; tests replace it). */
export const consent = {
  /** Resolves to the user's answer line, or null at end of input. */
  readLine: readStdinLine,
};

async function readStdinLine(): Promise<string | null> {
  const buf = new Uint8Array(1);
  const bytes: number[] = [];
  for (;;) {
    const n = await Deno.stdin.read(buf);
    if (n === null) {
      return bytes.length > 0 ? new TextDecoder().decode(new Uint8Array(bytes)) : null;
    }
    if (buf[0] === 0x0a) return new TextDecoder().decode(new Uint8Array(bytes));
    bytes.push(buf[0]);
  }
}

/** Asks until `yes` or `no` (DAOS common.GetConsent); end of input counts as no. */
async function getConsent(ctx: CommandContext): Promise<boolean> {
  for (;;) {
    ctx.log.info("Are you sure you want to proceed? (yes/no)");
    const line = await consent.readLine();
    if (line === null) return false;
    const a = line.trim().toLowerCase();
    if (a === "yes") return true;
    if (a === "no") return false;
    ctx.log.info(`Invalid input "${line.trim()}": please type yes or no`);
  }
}

async function manage(
  ctx: CommandContext,
  hostList: string | undefined,
  op: SmdManageOp,
): Promise<void> {
  const res = await request(
    ctx,
    "",
    async () => smdManage(await ctx.invoker(), await ctx.fanOutTargets(hostList), op),
  );
  renderSmd(ctx, res);
}

/** Sends one LED request to the hosts and prints their answers. */
async function led(
  ctx: CommandContext,
  hostList: string | undefined,
  req: LedRequest,
): Promise<void> {
  const res = await request(
    ctx,
    "",
    async () => smdLed(await ctx.invoker(), await ctx.fanOutTargets(hostList), req),
  );
  renderSmd(ctx, res);
}

interface FaultyOptions {
  hostList?: string;
  uuid: string;
  force?: boolean;
}

interface ReplaceOptions {
  hostList?: string;
  oldUuid: string;
  newUuid: string;
  noReint?: boolean;
}

interface IdentifyOptions {
  hostList?: string;
  timeout?: string;
  leafTimeout?: string;
  reset?: boolean;
}

/** Parses `--timeout` of `led identify` (minutes, uint32). */
function parseMinutes(s: string): number {
  const n = /^\d+$/.test(s) ? Number(s) : NaN;
  if (!Number.isSafeInteger(n) || n > 0xFFFFFFFF) {
    throw new Error(`invalid argument for flag \`--timeout' (expected uint32): ${s}`);
  }
  return n;
}

function checkIds(ids: string | undefined): string {
  if (ids === undefined || ids === "") {
    throw new Error("neither a pci address or a uuid has been supplied");
  }
  return ids;
}

/** Registers `storage set nvme-faulty`, `storage replace nvme`, `storage led …`. */
export function registerStorageSet(program: Command, run: Runner): void {
  const storage = storageGroup(program);
  commandGroup(storage, "set", undefined, "Manually set the device state")
    .command("nvme-faulty")
    .description("Manually set the device state of an NVMe SSD to FAULTY")
    .option("-l, --host-list <hosts>", HOSTS_HELP)
    .requiredOption("-u, --uuid <uuid>", "device UUID to set")
    .option("-f, --force", "do not require confirmation")
    .action(run(async (ctx, opts: FaultyOptions) => {
      ctx.log.notice("This command will permanently mark the device as unusable!");
      if (!opts.force && !ctx.json && !(await getConsent(ctx))) {
        throw new Error("consent not given");
      }
      await manage(ctx, opts.hostList, { op: "set-faulty", uuid: opts.uuid });
    }));

  commandGroup(storage, "replace", undefined, "Replace a storage device that has been hot-removed")
    .command("nvme")
    .description("Replace an evicted/FAULTY NVMe SSD with another device")
    .option("-l, --host-list <hosts>", HOSTS_HELP)
    .requiredOption("--old-uuid <uuid>", "device UUID of hot-removed SSD")
    .requiredOption("--new-uuid <uuid>", "device UUID of new device")
    .option("--no-reint", "bypass reintegration of device and just bring back online")
    .action(run(async (ctx, opts: ReplaceOptions) => {
      if (opts.oldUuid === opts.newUuid) {
        ctx.log.notice("Attempting to reuse a previously set FAULTY device!");
      }
      // commander's --no-* form sets reint:false; the reference flag is noReint.
      if ((opts as { reint?: boolean }).reint === false) {
        throw new Error("NoReint is not currently implemented");
      }
      await manage(ctx, opts.hostList, {
        op: "dev-replace",
        oldUuid: opts.oldUuid,
        newUuid: opts.newUuid,
      });
    }));

  const ledGroup = commandGroup(storage, "led", undefined, "Manage LED status of VMD devices");
  ledGroup.command("check")
    .description("Retrieve the current LED state of specified VMD device")
    .argument("[ids]", "comma-separated VMD backing device PCI addresses or device UUIDs")
    .option("-l, --host-list <hosts>", HOSTS_HELP)
    .action(run(async (ctx, ids: string | undefined, opts: { hostList?: string }) => {
      const list = checkIds(ids);
      await led(ctx, opts.hostList, { ids: list, action: "check" });
    }));
  ledGroup.command("identify")
    .description(
      "Blink the status LED on specified VMD device (for the purpose of visual SSD " +
        "identification). Default duration is 2 minutes",
    )
    .argument("[ids]", "comma-separated VMD backing device PCI addresses or device UUIDs")
    .option("-l, --host-list <hosts>", HOSTS_HELP)
    .option("--timeout <minutes>", "number of minutes to blink the status LED for")
    // The global --timeout would take the flag; flag_collisions.ts rewrites it to this.
    .addOption(new Option(`${leafAlias("timeout")} <minutes>`).hideHelp())
    .option("--reset", "reset blinking LED on specified VMD device back to previous state")
    .action(run(async (ctx, ids: string | undefined, opts: IdentifyOptions) => {
      const list = checkIds(ids);
      const given = opts.leafTimeout ?? opts.timeout;
      const minutes = given === undefined ? 0 : parseMinutes(given);
      if (opts.reset && minutes !== 0) {
        throw new Error("timeout option can not be set at the same time as reset");
      }
      await led(ctx, opts.hostList, {
        ids: list,
        action: opts.reset ? "reset" : "identify",
        minutes,
      });
    }));
}
