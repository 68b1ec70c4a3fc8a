/** Runs system tools (mount, umount, losetup) and turns failures into Faults naming the command. */
import type { Fault } from "../lib/fault.ts";

/**
 * Runs `cmd args…`; resolves with stdout. On failure throws `fault(description)`, the
 * description naming the command and its stderr (the caller picks the catalogue code).
 */
export async function runTool(
  cmd: string,
  args: string[],
  fault: (description: string) => Fault,
): Promise<string> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  } catch (e) {
    throw fault(`running ${cmd} failed: ${(e as Error).message}`);
  }
  const dec = new TextDecoder();
  if (!out.success) {
    const err = dec.decode(out.stderr).trim() || `exit code ${out.code}`;
    throw fault(`${cmd} ${args.join(" ")}: ${err}`);
  }
  return dec.decode(out.stdout);
}
