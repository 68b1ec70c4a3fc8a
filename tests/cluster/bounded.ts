/**
 * Waiting for processes that are expected to exit, with a bound: a regression that keeps one
 * running fails the test with a clear message instead of hanging the suite.
 */

/** Default bound for a process expected to exit on its own (a start-up refusal, a CLI run). */
export const EXIT_BOUND_MS = 60_000;

/**
 * Waits for `child` to exit, at most `timeoutMs`; past it the child is SIGKILLed (and reaped)
 * and the wait throws, naming `what`.
 */
export async function boundedStatus(
  child: Deno.ChildProcess,
  what: string,
  timeoutMs = EXIT_BOUND_MS,
): Promise<Deno.CommandStatus> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const st = await Promise.race([
    child.status,
    new Promise<null>((r) => timer = setTimeout(() => r(null), timeoutMs)),
  ]);
  clearTimeout(timer);
  if (st !== null) return st;
  try {
    child.kill("SIGKILL");
  } catch { /* exited meanwhile */ }
  await child.status;
  throw new Error(`${what} (pid ${child.pid}) did not exit within ${timeoutMs} ms; killed it`);
}

/**
 * Runs `cmd` to completion like Deno.Command.output() (stdout and stderr piped), bounded by
 * `timeoutMs` as {@link boundedStatus}.
 */
export async function boundedOutput(
  cmd: string,
  options: Omit<Deno.CommandOptions, "stdout" | "stderr" | "signal">,
  timeoutMs = EXIT_BOUND_MS,
): Promise<Deno.CommandOutput> {
  const child = new Deno.Command(cmd, { ...options, stdout: "piped", stderr: "piped" })
    .spawn();
  const out = child.output(); // reads both pipes to the end while the status is awaited
  try {
    await boundedStatus(child, `${cmd} ${(options.args ?? []).join(" ")}`, timeoutMs);
  } finally {
    await out.catch(() => {}); // pipes close once the (possibly killed) child is gone
  }
  return await out;
}
