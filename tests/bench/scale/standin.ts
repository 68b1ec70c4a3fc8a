/** Builds the light stand-in engine (standin_engine.c over the real libdaos_engine.so). */

const top = new URL("../../../", import.meta.url).pathname;
const native = `${top}engine-ffi/native`;
const source = new URL("./standin_engine.c", import.meta.url).pathname;

async function run(cmd: string, args: string[], what: string): Promise<void> {
  const out = await new Deno.Command(cmd, { args, stdin: "null" }).output();
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr);
    throw new Error(`${what} failed (${cmd} exit ${out.code}):\n${err}`);
  }
}

/**
 * Builds libdaos_engine.so if needed and compiles the stand-in engine into `dir`; returns the
 * program's path. Throws with the compiler's message when the build fails.
 */
export async function buildStandinEngine(dir: string): Promise<string> {
  await run("make", ["-s", "-C", native], "building libdaos_engine.so (make -C engine-ffi/native)");
  const exe = `${dir}/standin_engine`;
  await run("cc", [
    "-O2",
    "-Wall",
    "-Wextra",
    "-Werror",
    `-I${native}/include`,
    "-o",
    exe,
    source,
    `-L${native}/build`,
    "-ldaos_engine",
    `-Wl,-rpath,${native}/build`,
  ], "compiling the stand-in engine");
  return exe;
}
