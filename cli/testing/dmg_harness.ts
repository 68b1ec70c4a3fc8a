/**
 * Runs dmg in-process against a MockInvoker (no sockets, no configuration file): the exit
 * status, stdout and stderr of one invocation, for table-driven command tests.
 */
import { MockInvoker } from "../../control/lib/control/mock_invoker.ts";
import { type ControlConfig, defaultControlConfig } from "../config.ts";
import { main } from "../main.ts";
import { MemorySink } from "../output/logger.ts";

/** Hosts of the test configuration (port 10001). */
export const HOSTS = ["h1:10001", "h2:10001"];

/** The configuration dmg sees: system daos_server, HOSTS, insecure. */
export function testConfig(hostlist: string[] = HOSTS): ControlConfig {
  const cfg = defaultControlConfig();
  return {
    ...cfg,
    path: "test",
    hostlist,
    transportConfig: { ...cfg.transportConfig, allowInsecure: true },
  };
}

/** What one run printed and returned. */
export interface DmgRun {
  code: number;
  out: string;
  err: string;
}

/** Runs `dmg <args>` with `inv` in place of the transports. */
export async function runDmg(
  args: string[],
  inv: MockInvoker,
  config: ControlConfig = testConfig(),
): Promise<DmgRun> {
  const out = new MemorySink();
  const err = new MemorySink();
  const code = await main(args, "dmg", { invoker: inv, config, stdout: out, stderr: err });
  return { code, out: out.text, err: err.text };
}
