/**
 * `dmg support collect-log`: every server's logs, redacted config, local state, scans and
 * telemetry as one tar.gz per host plus its index under `--target-folder`; `--archive` packs
 * the folder into one tar.gz. (The reference's dmg support collect-log, archives over gRPC.)
 */
import type { Command } from "commander";
import { basename, dirname, join } from "node:path";
import { collectLogs, type HostArchive } from "../../control/lib/control/support.ts";
import { gzip, tarPack } from "../../control/lib/support/collect.ts";
import { formatTable } from "../../control/lib/txtfmt.ts";
import { hostErrorsBlock } from "../printers/host_errors.ts";
import { render, request } from "../render.ts";
import { commandGroup, type Runner } from "./context.ts";

/** The reference's default target folder. */
export const DEFAULT_TARGET_FOLDER = "/tmp/daos_support_server_logs";

interface CollectOptions {
  hostList?: string;
  targetFolder?: string;
  archive?: boolean;
  stopOnError?: boolean;
  force?: boolean;
  extraLogsDir?: string;
}

async function isNonEmptyDir(path: string): Promise<boolean> {
  try {
    for await (const _ of Deno.readDir(path)) return true;
    return false;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** File-name-safe form of a host name. */
function safeName(host: string): string {
  return host.replace(/[^A-Za-z0-9._-]/g, "_");
}

/** Writes each host's archive and index under `folder`; returns the written paths by host. */
export async function writeArchives(
  folder: string,
  archives: HostArchive[],
): Promise<Map<string, string>> {
  await Deno.mkdir(folder, { recursive: true });
  const out = new Map<string, string>();
  for (const a of archives) {
    const name = safeName(a.host);
    const path = join(folder, `${name}.tar.gz`);
    await Deno.writeFile(path, a.tgz);
    await Deno.writeTextFile(
      join(folder, `${name}.index.json`),
      JSON.stringify(a.index, null, 2) + "\n",
    );
    out.set(a.host, path);
  }
  return out;
}

/** Packs every file of `folder` (flat) into `<folder>.tar.gz`; returns its path. */
export async function archiveFolder(folder: string): Promise<string> {
  const members: { name: string; data: Uint8Array }[] = [];
  const names: string[] = [];
  for await (const e of Deno.readDir(folder)) if (e.isFile) names.push(e.name);
  names.sort();
  for (const n of names) {
    members.push({ name: `${basename(folder)}/${n}`, data: await Deno.readFile(join(folder, n)) });
  }
  const path = join(dirname(folder), `${basename(folder)}.tar.gz`);
  await Deno.writeFile(path, await gzip(tarPack(members)));
  return path;
}

/** Text summary: one row per host. */
export function formatCollectSummary(archives: HostArchive[], paths: Map<string, string>): string {
  if (archives.length === 0) return "";
  return formatTable(
    ["Host", "Files", "Truncated", "Errors", "Archive"],
    archives.map((a) => ({
      Host: a.host,
      Files: String(a.index.files.length),
      Truncated: String(a.index.files.filter((f) => f.truncated).length),
      Errors: String(a.index.errors.length),
      Archive: paths.get(a.host) ?? "",
    })),
  );
}

/** Item errors of the collected hosts, one line each ("host: item: error"). */
function itemErrors(archives: HostArchive[]): string[] {
  return archives.flatMap((a) => a.index.errors.map((e) => `${a.host}: ${e.item}: ${e.error}`));
}

/** Registers `support collect-log`. */
export function registerSupport(program: Command, run: Runner): void {
  commandGroup(program, "support", "", "Perform debug tasks to help support team")
    .command("collect-log")
    .description("Collect logs, configs and state from servers")
    .option("-l, --host-list <hosts>", "a list of addresses <ipv4addr/hostname:port> to connect to")
    .option("--target-folder <dir>", "folder to write the collected archives to")
    .option("--archive", "also pack the target folder into one tar.gz")
    .option("--stop-on-error", "write nothing if any host or any item failed")
    .option("--force", "write into an existing non-empty target folder")
    .option("--extra-logs-dir <dir>", "also collect the files of this directory on every server")
    .action(run(async (ctx, opts: CollectOptions) => {
      const folder = opts.targetFolder ?? DEFAULT_TARGET_FOLDER;
      if (!opts.force && await isNonEmptyDir(folder)) {
        throw new Error(
          `target folder ${folder} exists and is not empty; choose another --target-folder ` +
            "or pass --force to write into it",
        );
      }
      const res = await request(
        ctx,
        "",
        async () =>
          collectLogs(await ctx.invoker(), await ctx.fanOutTargets(opts.hostList), {
            extraLogsDir: opts.extraLogsDir,
          }),
      );
      const archives = res.answers.map((a) => a.payload);
      const items = itemErrors(archives);
      if (opts.stopOnError && (res.hostErrors.summary() !== undefined || items.length > 0)) {
        const first = res.hostErrors.summary() ?? items[0];
        render(ctx, {
          json: () => ({ host_errors: res.hostErrors.json(), item_errors: items }),
          text: () => [["error", hostErrorsBlock(res.hostErrors) + items.join("\n")]],
          error: `collect-log stopped on error (--stop-on-error), nothing written: ${first}`,
        });
        return;
      }
      const paths = await writeArchives(folder, archives);
      const bundle = opts.archive ? await archiveFolder(folder) : "";
      render(ctx, {
        json: () => ({
          host_errors: res.hostErrors.json(),
          target_folder: folder,
          archive: bundle,
          hosts: archives.map((a) => ({
            host: a.host,
            archive: paths.get(a.host) ?? "",
            files: a.index.files.map((f) => ({ ...f })),
            errors: a.index.errors.map((e) => ({ ...e })),
          })),
        }),
        text: () => [
          ["info", hostErrorsBlock(res.hostErrors) + formatCollectSummary(archives, paths)],
          ["info", items.length ? `Item errors:\n${items.join("\n")}\n` : ""],
          ["info", bundle ? `Archive: ${bundle}\n` : ""],
        ],
        error: res.hostErrors.summary(),
      });
    }));
}
