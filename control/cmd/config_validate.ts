/**
 * `daos_server config validate [--hardware]` (ours; DAOS has no such command): every problem
 * of a config with file:line:col and its fix (control/config/validate_command.ts does the
 * work). Text: the report, exit 1 when there are problems. -j: `{"valid", "problems",
 * "notices"}` as the response, with the error set when the config has problems.
 */
import type { Command } from "commander";
import { serverConfigFault } from "../lib/fault.ts";
import { validateConfigFile } from "../config/validate_command.ts";
import type { CmdContext } from "./context.ts";
import type { Runner } from "./runner.ts";

/** The exit status a body returns to fail without an error line (the report says it all). */
export const EXIT_PROBLEMS = 1;

async function validate(ctx: CmdContext, o: { hardware?: boolean }): Promise<number> {
  const path = ctx.globals.config;
  if (!path) {
    throw serverConfigFault(
      "ServerNoConfigPath",
      "no configuration file given",
      "use daos_server config validate -o <daos_server.yml>",
    );
  }
  const r = await validateConfigFile(path, { hardware: o.hardware === true });
  if (ctx.json) {
    const response = {
      valid: r.problems.length === 0,
      problems: r.problems.map((p) => ({
        file: p.file,
        line: p.line,
        col: p.col,
        code: p.code,
        message: p.message,
        resolution: p.resolution,
      })),
      notices: r.config?.notices ?? [],
    };
    if (r.problems.length === 0) {
      ctx.writeJson(response);
      return 0;
    }
    const err = new Error(
      `${r.problems.length} problem${r.problems.length === 1 ? "" : "s"} found in ${path}`,
    );
    ctx.writeJson(response, err);
    throw err;
  }
  ctx.io.out(r.text);
  return r.problems.length === 0 ? 0 : EXIT_PROBLEMS;
}

/** Registers `config validate` under the config group. */
export function registerConfigValidate(config: Command, run: Runner): void {
  config.command("validate")
    .description("Validate a server config file, reporting every problem with file:line:col")
    .option("--hardware", "also check the config against this host (interfaces, devices, memory)")
    .action(run((ctx, o: { hardware?: boolean }) => validate(ctx, o), { config: "use" }));
}
