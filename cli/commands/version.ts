/** `dmg version`: prints the version without loading the config (dmg.md §5.17). */
import type { Command } from "commander";
import { DAOS_VERSION } from "../../control/lib/rpc/version.ts";
import type { CommandContext, Runner } from "./context.ts";

/** Registers `version`. */
export function registerVersion(program: Command, run: Runner): void {
  program.command("version")
    .description("Print dmg version")
    .action(run(printVersion));
}

/** The body of `dmg version` (also run from the cached tree, see cli/dmg.ts). */
export function printVersion(ctx: CommandContext): Promise<void> {
  if (ctx.json) {
    ctx.envelope.write({
      name: "DAOS Admin Tool",
      version: DAOS_VERSION,
      release: true,
      build_time: "0001-01-01T00:00:00Z",
    });
  } else {
    ctx.log.info(`DAOS Admin Tool version ${DAOS_VERSION}`);
  }
  return Promise.resolve();
}
