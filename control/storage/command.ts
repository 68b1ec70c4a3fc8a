/** Runs system tools (mount, umount, losetup) and turns failures into Faults naming the command. */
import { Fault } from "../lib/fault.ts";

/** Runs `cmd args…`; resolves with stdout, throws a Fault (given code) with stderr on failure. */
export async function runTool(
  cmd: string,
  args: string[],
  fault: { domain: string; code: number; resolution: string },
): Promise<string> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  } catch (e) {
    throw new Fault({ ...fault, description: `running ${cmd} failed: ${(e as Error).message}` });
  }
  const dec = new TextDecoder();
  if (!out.success) {
    const err = dec.decode(out.stderr).trim() || `exit code ${out.code}`;
    throw new Fault({ ...fault, description: `${cmd} ${args.join(" ")}: ${err}` });
  }
  return dec.decode(out.stdout);
}
