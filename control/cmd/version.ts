/**
 * `daos_server version` (reference main.go versionCmd): `daos_server v<version>` as
 * build.String prints it, or with -j the build info document.
 */
import type { Command } from "commander";
import { DAOS_VERSION } from "../lib/rpc/version.ts";
import type { Runner } from "./runner.ts";

/** The reference's build.ControlPlaneName. */
export const CONTROL_PLANE_NAME = "daos_server";

/** Registers `version`. */
export function registerVersion(program: Command, run: Runner): void {
  program.command("version")
    .description("Print daos_server version")
    .action(run((ctx) => {
      if (ctx.json) {
        ctx.writeJson({
          name: CONTROL_PLANE_NAME,
          version: DAOS_VERSION,
          release: true,
          build_time: "0001-01-01T00:00:00Z",
        });
      } else {
        ctx.log.info(`${CONTROL_PLANE_NAME} version ${DAOS_VERSION}`);
      }
      return Promise.resolve();
    }, { config: "ignore" }));
}
