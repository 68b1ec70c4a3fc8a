/**
 * `dmg server …` (alias `srv`): `set-logmasks` (alias `slm`) sends log masks to every engine
 * of the hosts (DAOS cmd/dmg/server.go); errors are folded per host. `server-version` prints
 * the servers' version as the MS reports it (dmg.md §5.17).
 */
import type { Command } from "commander";
import { serverVersion, setEngineLogMasks } from "../../control/lib/control/server.ts";
import { stripPorts } from "../../control/lib/hostlist.ts";
import { HostSet } from "../../control/lib/hostlist.ts";
import { hostErrorsBlock } from "../printers/host_errors.ts";
import { render, request } from "../render.ts";
import { commandGroup, type Runner } from "./context.ts";

interface LogMasksOptions {
  hostList?: string;
  masks?: string;
  streams?: string;
  subsystems?: string;
}

const PREFIX = "set engine log level failed";

/** Registers `server set-logmasks`. */
export function registerServer(program: Command, run: Runner): void {
  commandGroup(program, "server", "srv", "Perform tasks related to remote servers")
    .command("set-logmasks")
    .alias("slm")
    .description(
      "Set log masks for a set of facilities to a given level and optionally specify debug " +
        "streams to enable, on all running DAOS I/O Engines of the hosts",
    )
    .option("-l, --host-list <hosts>", "a list of addresses <ipv4addr/hostname:port> to connect to")
    .option(
      "-m, --masks <masks>",
      "PREFIX1=LEVEL1,PREFIX2=LEVEL2,... as D_LOG_MASK takes it (a bare LEVEL applies to all " +
        "facilities); unset resets to each engine's configured log_mask",
    )
    .option("-d, --streams <streams>", "debug streams to enable (DD_MASK syntax)")
    .option("-s, --subsystems <subsystems>", "subsystems to log (DD_SUBSYS syntax)")
    .action(run(async (ctx, opts: LogMasksOptions) => {
      const res = await request(
        ctx,
        PREFIX,
        async () =>
          setEngineLogMasks(await ctx.invoker(), await ctx.fanOutTargets(opts.hostList), {
            masks: opts.masks,
            streams: opts.streams,
            subsystems: opts.subsystems,
          }),
      );
      const updated = HostSet.fromHosts(res.answers.map((a) => a.addr));
      render(ctx, {
        json: () => ({
          host_errors: res.hostErrors.json(),
          HostStorage: updated.count > 0
            ? new Map([["0", { storage: null, hosts: updated.toString() }]])
            : null,
        }),
        text: () => [
          ["error", hostErrorsBlock(res.hostErrors)],
          [
            "info",
            updated.count > 0
              ? "Engine log-masks updated successfully on the following hosts: " +
                stripPorts(updated.toString())
              : "",
          ],
        ],
        error: res.hostErrors.summary(),
      }, PREFIX);
    }));
}

/** Registers `server-version`. */
export function registerServerVersion(program: Command, run: Runner): void {
  program.command("server-version")
    .description("Print the version of the DAOS control servers (as the MS reports it)")
    .action(run(async (ctx) => {
      const v = await request(ctx, "", async () => {
        const sys = (await ctx.config()).name;
        return serverVersion(await ctx.invoker(), await ctx.msOptions(), sys);
      });
      render(ctx, {
        json: () => ({ name: "DAOS Control Server", version: v.version, build_info: v.tag }),
        text: () => [["info", `DAOS Control Server version ${v.version}`]],
      });
    }));
}
