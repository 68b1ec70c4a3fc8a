/**
 * Test fixture for format tests: a temp dir with a two-engine config on tmpfs SCM and file
 * bdevs; `cleanup` unmounts every mount under the dir and removes it (also after failures).
 */
import { equal } from "node:assert/strict";
import { checkServerConfigText } from "../../control/config/load.ts";
import type { ServerConfig } from "../../control/config/types.ts";
import { stoppedInstances } from "../../control/ctl/storage_format.ts";
import { formatHostStorage, type FormatOutcome } from "../../control/storage/format.ts";
import { FormatGate } from "../../control/storage/format_state.ts";
import { parseMountInfo } from "../../control/storage/mounts.ts";
import {
  engineYaml,
  fileTierYaml,
  LOCAL_SERVER_HEAD,
  ramTierYaml,
} from "../util/config_fixtures.ts";

/** A temporary format playground. */
export interface FormatFixture {
  dir: string;
  configPath: string;
  config: ServerConfig;
  cleanup(): Promise<void>;
}

/** Config text for `engines` engines rooted at `dir` (scm_size 4 GiB, bdev files of 1 GiB). */
export function formatConfigText(dir: string, engines = 2, extra = "", port = 10001): string {
  let text = `name: daos_server
port: ${port}
provider: ofi+tcp
socket_dir: ${dir}
transport_config:
  allow_insecure: true
${extra}engines:
`;
  for (let i = 0; i < engines; i++) {
    text += `  - targets: 2
    fabric_iface: lo
    fabric_iface_port: ${31416 + i * 1000}
    log_file: ${dir}/engine${i}.log
    storage:
      - class: ram
        scm_mount: ${dir}/scm${i}
        scm_size: 4
      - class: file
        bdev_list: [${dir}/bdev${i}a, ${dir}/bdev${i}b]
        bdev_size: 1
`;
  }
  return text;
}

/** Runs a command; its trimmed stdout, or an Error with the command line and its stderr. */
export async function sh(cmd: string, ...args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
  return new TextDecoder().decode(out.stdout).trim();
}

/** A loop device over a sparse file `<dir>/backing` of `size` (truncate syntax, e.g. "64M"). */
export async function attachLoop(dir: string, size: string): Promise<string> {
  await sh("truncate", "-s", size, `${dir}/backing`);
  return await sh("losetup", "--find", "--show", `${dir}/backing`);
}

/** Detaches a loop device from attachLoop ("" = none was attached); cleanup, so never throws. */
export async function detachLoop(loop: string): Promise<void> {
  if (loop !== "") await sh("losetup", "-d", loop).catch(() => "");
}

/** The MD-on-SSD engine of the device tests: ram SCM and one file bdev holding all roles. */
export function mdEngineYaml(dir: string): string {
  return engineYaml(
    ramTierYaml(`${dir}/scm0`) + fileTierYaml([`${dir}/bdev0`], 1, ["wal", "meta", "data"]),
  );
}

/** Formats every engine of `cfg` (all stopped) on host "h"; `gate` hears of each format. */
export function formatStopped(
  cfg: ServerConfig,
  req: { reformat?: boolean; replace?: boolean } = {},
  gate = new FormatGate(),
): Promise<FormatOutcome> {
  return formatHostStorage(cfg, stoppedInstances(cfg), {
    reformat: req.reformat ?? false,
    replace: req.replace ?? false,
  }, { hostname: "h", gate });
}

/**
 * Asserts `results` holds exactly `n` entries, all with `status`: `.every()` alone passes on
 * an empty list, so a flow that returned nothing would look like success.
 */
export function assertAllStatus(
  results: readonly { status: string }[],
  status: string,
  n: number,
): void {
  const got = results.map((r) => r.status);
  if (got.length !== n || got.some((s) => s !== status)) {
    throw new Error(
      `expected ${n} results all ${status}, got ${JSON.stringify(results)}`,
    );
  }
}

/** Unmounts everything mounted at or below `dir` (deepest first). */
export async function unmountBelow(dir: string): Promise<void> {
  const mounts = parseMountInfo(await Deno.readTextFile("/proc/self/mountinfo"))
    .map((m) => m.mountPoint)
    .filter((p) => p === dir || p.startsWith(dir + "/"))
    .sort((a, b) => b.length - a.length);
  for (const p of mounts) {
    await new Deno.Command("umount", { args: ["-l", p], stdout: "null", stderr: "null" }).output();
  }
}

/** Creates a fixture; the caller must `await f.cleanup()` in finally. */
export async function makeFormatFixture(
  engines = 2,
  extra = "",
  port = 10001,
): Promise<FormatFixture> {
  const dir = await Deno.makeTempDir({ prefix: "daos-format-" });
  const configPath = `${dir}/daos_server.yml`;
  const text = formatConfigText(dir, engines, extra, port);
  await Deno.writeTextFile(configPath, text);
  const { config, problems } = checkServerConfigText(text, configPath);
  if (!config || problems.length > 0) {
    await Deno.remove(dir, { recursive: true });
    throw new Error(`fixture config invalid: ${JSON.stringify(problems)}`);
  }
  return {
    dir,
    configPath,
    config,
    cleanup: async () => {
      await unmountBelow(dir);
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/**
 * Runs `body` in a fresh temp dir (name starting `prefix`); afterwards, also on failure,
 * unmounts everything below it and removes it, then checks it is gone (a mount left behind
 * would keep files there).
 */
export async function inTempDir(
  prefix: string,
  body: (dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix });
  try {
    await body(dir);
  } finally {
    await unmountBelow(dir);
    await Deno.remove(dir, { recursive: true });
  }
  equal(await Deno.stat(dir).then(() => 1, () => 0), 0);
}

/**
 * Config text for the layout tests: the local single-host head with socket_dir in `dir`, one
 * engine per entry of `storage` (its tiers' YAML), engine i on fabric port 31416 + i, with its
 * log in dir/e<i>.log when `logs`.
 */
export function layoutConfigText(dir: string, storage: string[], logs = false): string {
  let text = `${LOCAL_SERVER_HEAD.replace("engines:\n", "")}socket_dir: ${dir}\nengines:\n`;
  storage.forEach((tiers, i) => {
    text += engineYaml(tiers, {
      port: 31416 + i,
      extra: logs ? `    log_file: ${dir}/e${i}.log\n` : undefined,
    });
  });
  return text;
}
