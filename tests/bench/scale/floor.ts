/** The floor of every dmg latency: `deno run` of an empty program. */

/** Creates the empty program (a temp file); remove it when done. */
export function makeEmptyProgram(): Promise<string> {
  return Deno.makeTempFile({ prefix: "bench-empty-", suffix: ".ts" });
}

/** Runs `deno run` on the empty program `file`; throws when it does not exit 0. */
export async function emptyDenoRun(file: string): Promise<void> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--no-prompt", file],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).output();
  if (!out.success) throw new Error(`deno run ${file} exited ${out.code}`);
}
