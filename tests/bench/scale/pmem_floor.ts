/**
 * The pool benches' file floor: pmem_floor.c (pmemobj_create/close and unlink of the same
 * files a pool create/destroy makes), built here and run as one long-lived process inside the
 * simulator's mount namespace, so the files land on the engines' own tmpfs mounts.
 */

const source = new URL("./pmem_floor.c", import.meta.url).pathname;

/** Compiles pmem_floor.c into `dir`; returns the program's path. */
export async function buildPmemFloor(dir: string): Promise<string> {
  const exe = `${dir}/pmem_floor`;
  const out = await new Deno.Command("cc", {
    args: ["-O2", "-Wall", "-Wextra", "-Werror", "-o", exe, source, "-lpmemobj"],
    stdin: "null",
  }).output();
  if (!out.success) {
    throw new Error(
      `compiling ${source} failed (needs libpmemobj-dev):\n${new TextDecoder().decode(out.stderr)}`,
    );
  }
  return exe;
}

/** A running pmem_floor and its line protocol. */
export class PmemFloor {
  #child: Deno.ChildProcess;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #reader: ReadableStreamDefaultReader<string>;
  #buf = "";

  private constructor(child: Deno.ChildProcess) {
    this.#child = child;
    this.#writer = child.stdin.getWriter();
    this.#reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  }

  /**
   * Starts `exe` for files of `size` bytes, one in each of `dirs`, inside the mount namespace
   * of process `nsPid` (nsenter; the caller is root, as the simulator's format is).
   */
  static async start(exe: string, nsPid: number, size: number, dirs: string[]): Promise<PmemFloor> {
    // setsid: its own session, so its own scheduler autogroup as the simulator's engines
    // have theirs; in the bench's session it would share that group's CPU share.
    const child = new Deno.Command("setsid", {
      args: ["nsenter", "-t", String(nsPid), "-m", exe, String(size), ...dirs],
      // What the engine launcher gives engines on non-DCPM SCM (control/harness/
      // engine_launch.ts): no shutdown-state check at create, which costs much per file.
      env: { PMEMOBJ_CONF: "sds.at_create=0" },
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const f = new PmemFloor(child);
    const l = await f.#line();
    if (l !== "ready") {
      await f.close();
      throw new Error(`pmem_floor did not start: "${l}"`);
    }
    return f;
  }

  async #line(): Promise<string> {
    while (!this.#buf.includes("\n")) {
      const { value, done } = await this.#reader.read();
      if (done) throw new Error("pmem_floor exited (see its message above)");
      this.#buf += value;
    }
    const i = this.#buf.indexOf("\n");
    const line = this.#buf.slice(0, i);
    this.#buf = this.#buf.slice(i + 1);
    return line;
  }

  /** Runs "create" or "remove"; returns the µs the helper measured; throws on "err …". */
  async cmd(word: "create" | "remove"): Promise<number> {
    await this.#writer.write(new TextEncoder().encode(`${word}\n`));
    const l = await this.#line();
    const m = /^ok ([0-9.]+)$/.exec(l);
    if (m === null) throw new Error(`pmem_floor ${word}: ${l}`);
    return Number(m[1]);
  }

  /** Asks it to quit (it removes its files), bounded; then kills it. */
  async close(): Promise<void> {
    try {
      await this.#writer.write(new TextEncoder().encode("quit\n"));
      await this.#writer.close();
    } catch { /* already gone */ }
    const t = setTimeout(() => {
      try {
        this.#child.kill("SIGKILL");
      } catch { /* exited */ }
    }, 30_000);
    try {
      await this.#reader.cancel();
    } catch { /* closed */ }
    await this.#child.status;
    clearTimeout(t);
  }
}
