/**
 * Command line and environment of one daos_engine, derived from its engines[] entry
 * (spec/server.md §1.3, §1.6).
 */
import type { EngineConfig } from "../config/types.ts";
import { nvmeConfPath } from "../storage/engine_paths.ts";
import { mergeLogSubsystems } from "../config/log_masks.ts";
import { MODULE_LIST_FIX, moduleListProblem } from "../config/engine_modules.ts";

/** Values computed by daos_server rather than read from the engine's config. */
export interface LaunchContext {
  socketDir: string;
  /** Checker mode (-C). */
  checkMode?: boolean;
  /** -r: hugepage memory for this engine in MiB (only engines with bdevs). */
  memSizeMiB?: number;
  /** -H: hugepage size in MiB (only engines with bdevs). */
  hugepageSizeMiB?: number;
}

function scmMount(cfg: EngineConfig): string {
  if (cfg.scm === null || cfg.scm.scmMount === "") {
    throw new Error(`engine ${cfg.index}: no scm_mount set; add an SCM tier to its storage`);
  }
  return cfg.scm.scmMount;
}

/**
 * `-m <modules>` as the reference derives it: only when the engine's module list is set (by
 * `daos_server start --modules`, which replaces every engine's list as in DAOS; here also by
 * the engine's `modules` key, which DAOS overwrites); otherwise nothing, and the engine loads
 * its default modules.
 * Checked again here because a list that is not plain names must never reach the engine.
 */
function moduleArgs(cfg: EngineConfig): string[] {
  if (cfg.modules === "") return [];
  const bad = moduleListProblem(cfg.modules);
  if (bad !== null) throw new Error(`engine ${cfg.index}: modules: ${bad}; ${MODULE_LIST_FIX}`);
  return ["-m", cfg.modules];
}

/** daos_engine arguments for cfg (without the program name). */
export function engineArgs(cfg: EngineConfig, ctx: LaunchContext): string[] {
  const args = ["-t", String(cfg.targets), "-x", String(cfg.nrXsHelpers)];
  if (cfg.firstCore !== null) args.push("-f", String(cfg.firstCore));
  if (cfg.pinnedNumaNode !== null) args.push("-p", String(cfg.pinnedNumaNode));
  if (cfg.fabric.bypassHealthChk) args.push("-b");
  args.push(...moduleArgs(cfg));
  args.push("-g", cfg.systemName, "-d", ctx.socketDir, "-I", String(cfg.index));
  args.push("-T", String(1 + cfg.bdevs.length), "-s", scmMount(cfg));
  const conf = nvmeConfPath(cfg);
  if (conf !== null) {
    args.push("-n", conf);
    if (ctx.memSizeMiB !== undefined) args.push("-r", String(ctx.memSizeMiB));
    if (ctx.hugepageSizeMiB !== undefined) args.push("-H", String(ctx.hugepageSizeMiB));
  }
  if (ctx.checkMode) args.push("-C");
  return args;
}

function splitKV(entry: string, where: string): [string, string] {
  const eq = entry.indexOf("=");
  if (eq <= 0) {
    throw new Error(`${where}: env_vars entry "${entry}" is not KEY=VALUE; write it as KEY=VALUE`);
  }
  return [entry.slice(0, eq), entry.slice(eq + 1)];
}

/** Host variables every engine needs to run the launcher (PATH for the shebang, Deno's cache). */
const ALWAYS_PASSED = ["PATH", "HOME", "DENO_DIR", "XDG_CACHE_HOME"];

/**
 * The engine's whole environment: the always-passed and env_pass_through host variables, the
 * fabric and log settings, env_vars, the storage fix-ups of §1.6, and DAOS_SERVER_PID (this
 * daos_server, whose death the engine watches for). Throws on a conflicting
 * PMEMOBJ_CONF or a too-small ABT_THREAD_STACKSIZE, naming the engine and the fix.
 */
export function engineEnv(
  cfg: EngineConfig,
  hostEnv: Record<string, string>,
): Record<string, string> {
  const where = `engine ${cfg.index}`;
  const env: Record<string, string> = {};
  for (const k of [...ALWAYS_PASSED, ...cfg.envPassThrough]) {
    if (hostEnv[k] !== undefined) env[k] = hostEnv[k];
  }
  const f = cfg.fabric;
  if (f.provider !== "") env.D_PROVIDER = f.provider;
  if (f.fabricIface !== "") env.D_INTERFACE = f.fabricIface;
  if (f.fabricIfacePort !== 0) env.D_PORT = String(f.fabricIfacePort);
  // Passed as configured, 0 (unset) included: the engine reads CRT_TIMEOUT=0 as CaRT's default
  // (engine-ffi tunable_env), which must hold whatever launched it, so it is handled there only.
  env.CRT_TIMEOUT = String(f.crtTimeout);
  env.FI_OFI_RXM_USE_SRX = f.disableSrx ? "0" : "1";
  if (f.fabricAuthKey !== "") env.D_PROVIDER_AUTH_KEY = f.fabricAuthKey;
  if (cfg.logMask !== "") env.D_LOG_MASK = cfg.logMask;
  if (cfg.logFile !== "") env.D_LOG_FILE = cfg.logFile;
  for (const e of cfg.envVars) {
    const [k, v] = splitKV(e, where);
    env[k] = v;
  }
  // DD_SUBSYS limits which subsystems log below ERR; the engine reads that from D_LOG_MASK.
  if (env.DD_SUBSYS !== undefined && env.D_LOG_MASK !== undefined) {
    env.D_LOG_MASK = mergeLogSubsystems(env.D_LOG_MASK, env.DD_SUBSYS);
  }
  if (cfg.bdevs.length > 0) env.VOS_BDEV_CLASS = cfg.bdevs[0].class === "nvme" ? "NVME" : "AIO";
  applyStorageFixups(cfg, env, where);
  // the engine stops itself when this process dies, even by SIGKILL (engine-ffi server_watch.h)
  env.DAOS_SERVER_PID = String(Deno.pid);
  return env;
}

function applyStorageFixups(cfg: EngineConfig, env: Record<string, string>, where: string): void {
  const userStack = cfg.envVars.some((e) => e.startsWith("ABT_THREAD_STACKSIZE="));
  const raise = (min: number, why: string) => raiseStackSize(env, userStack, min, where, why);
  if (cfg.scm?.class === "dcpm") {
    raise(20480, "DCPM SCM");
  } else {
    const conf = env.PMEMOBJ_CONF ?? "";
    if (/sds\.at_create\s*=\s*1/.test(conf)) {
      throw new Error(
        `${where}: PMEMOBJ_CONF "${conf}" sets sds.at_create=1, which non-DCPM SCM cannot use; ` +
          "remove it from env_vars",
      );
    }
    if (!/sds\.at_create/.test(conf)) {
      env.PMEMOBJ_CONF = conf === "" ? "sds.at_create=0" : `${conf};sds.at_create=0`;
    }
  }
  if (cfg.fabric.provider.startsWith("ucx+")) raise(32768, "a UCX provider");
  if (cfg.controlMetadataPath !== "") raise(24576, "MD-on-SSD");
}

/** Ensures ABT_THREAD_STACKSIZE >= min: added if absent, an error if the user set less. */
function raiseStackSize(
  env: Record<string, string>,
  userSet: boolean,
  min: number,
  where: string,
  why: string,
): void {
  const cur = env.ABT_THREAD_STACKSIZE;
  if (cur !== undefined && !/^\d+$/.test(cur)) {
    throw new Error(`${where}: env ABT_THREAD_STACKSIZE=${cur} is not a number of bytes`);
  }
  if (cur !== undefined && Number(cur) >= min) return;
  if (cur !== undefined && userSet) {
    throw new Error(
      `${where}: env ABT_THREAD_STACKSIZE=${cur} is too small with ${why}; ` +
        `set it to at least ${min} or remove it`,
    );
  }
  env.ABT_THREAD_STACKSIZE = String(min);
}
