/**
 * dmg, the DAOS management CLI: the command tree (one registration line per group) over the
 * run in cli/run.ts (global flags, go-flags parse errors (dmg.md §1.3), the fatal error line and
 * exit status, the -j envelope guarantee). bin/dmg starts cli/dmg.ts, which loads this module
 * only for commands that need it.
 */
import type { Command } from "commander";
import type { Runner } from "./commands/context.ts";
import { registerCompletion } from "./completion.ts";
import { registerNetwork } from "./commands/network.ts";
import { registerServer, registerServerVersion } from "./commands/server.ts";
import { registerStorage } from "./commands/storage.ts";
import { registerStorageFormat } from "./commands/storage_format.ts";
import { registerStorageQuerySmd } from "./commands/storage_query.ts";
import { registerStorageSet } from "./commands/storage_set.ts";
import { registerStorageQueryUsage } from "./commands/storage_usage.ts";
import { registerSystemCommands } from "./commands/system.ts";
import { registerSystemAttrs } from "./commands/system_attrs.ts";
import { registerPool } from "./commands/pool.ts";
import { registerSupport } from "./commands/support.ts";
import { registerTelemetry } from "./commands/telemetry.ts";
import { registerConfigGenerate } from "./commands/config_generate.ts";
import { registerVersion } from "./commands/version.ts";
import { finishProgram, type MainIO, newProgram, runDmg } from "./run.ts";

export type { MainIO } from "./run.ts";

/**
 * Builds the command tree without the help layout (what cli/tree_cache.ts caches). `run`
 * wraps each command body.
 */
export function buildTree(run: Runner): Command {
  const program = newProgram();

  // One line per command group. Other groups (system, pool, …) register here too.
  registerNetwork(program, run);
  registerStorage(program, run);
  registerStorageFormat(program, run);
  registerStorageQueryUsage(program, run);
  registerStorageQuerySmd(program, run);
  registerStorageSet(program, run);
  registerServer(program, run);
  registerServerVersion(program, run);
  registerSystemCommands(program, run);
  registerSystemAttrs(program, run);
  registerPool(program, run);
  registerTelemetry(program, run);
  registerSupport(program, run);
  registerConfigGenerate(program, run);
  registerVersion(program, run);
  registerCompletion(program, run);
  return program;
}

/** Builds the command tree. `run` wraps each command body. */
export function buildProgram(run: Runner): Command {
  return finishProgram(buildTree(run));
}

/** Runs dmg with `args` over the full command tree; returns the exit status. */
export function main(args: string[], argv0 = "dmg", io: MainIO = {}): Promise<number> {
  return runDmg(buildProgram, args, argv0, io);
}

if (import.meta.main) Deno.exit(await main(Deno.args));
