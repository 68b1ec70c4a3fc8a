/** Runs short-lived commands (ip, dmg, etcdctl) with a deadline and captured output. */

/** Result of a finished command. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  /** True when the deadline killed the command. */
  timedOut: boolean;
}

/** Options of {@link run}. */
export interface RunOptions {
  /** Kill the command (SIGKILL) after this long (default 15000 ms). */
  timeoutMs?: number;
  env?: Record<string, string>;
  cwd?: string;
  stdin?: string;
}

const dec = new TextDecoder();

/** Runs `cmd args`, never longer than `timeoutMs`; never throws for a non-zero exit. */
export async function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? 15000;
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), timeoutMs);
  try {
    const child = new Deno.Command(cmd, {
      args,
      env: opts.env,
      cwd: opts.cwd,
      stdin: opts.stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
      signal: ac.signal,
    }).spawn();
    if (opts.stdin !== undefined) {
      const w = child.stdin.getWriter();
      await w.write(new TextEncoder().encode(opts.stdin));
      await w.close();
    }
    const out = await child.output();
    return {
      code: out.code,
      stdout: dec.decode(out.stdout),
      stderr: dec.decode(out.stderr),
      timedOut: ac.signal.aborted,
    };
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `cmd args` and throws, naming the command and its stderr, unless it exits 0. */
export async function runOk(cmd: string, args: string[], opts: RunOptions = {}): Promise<string> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) {
    const why = r.timedOut ? `timed out after ${opts.timeoutMs ?? 15000} ms` : `exit ${r.code}`;
    throw new Error(`${cmd} ${args.join(" ")}: ${why}: ${r.stderr.trim() || r.stdout.trim()}`);
  }
  return r.stdout;
}

/** Runs `ip args` (iproute2) and returns stdout; throws with ip's message on failure. */
export function ip(...args: string[]): Promise<string> {
  return runOk("ip", args, { timeoutMs: 10000 });
}
