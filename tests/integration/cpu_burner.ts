/** CPU burners for soak tests and benches: load the machine, then stop. */

/** Starts one busy-loop process per core; returns them for stopping. */
export function startBurners(n = navigator.hardwareConcurrency || 2): Deno.ChildProcess[] {
  return Array.from({ length: n }, () =>
    new Deno.Command("sh", {
      args: ["-c", "while :; do :; done"],
      stdout: "null",
      stderr: "null",
    }).spawn());
}

/** Kills and reaps the burners. */
export async function stopBurners(bs: Deno.ChildProcess[]): Promise<void> {
  for (const b of bs) {
    try {
      b.kill("SIGKILL");
    } catch { /* gone */ }
  }
  await Promise.all(bs.map((b) => b.status));
}
