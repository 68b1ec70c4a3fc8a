/**
 * The engines' RPC layer on libfabric (engine-ffi/native/src/crt.c), driven through the
 * `bench_crt` helper (engine-ffi/native/tools/bench_crt.c, built by `make bench`), which keeps
 * its transports and warm connections across calls and answers one line per command.
 *
 * `fabric-rtt`: run = 20 sequential RPC round trips between two transports (a 64-byte echo,
 * provider ofi+tcp = tcp;ofi_rxm); floor = 20 round trips of a message of the same wire size
 * between two raw libfabric endpoints of the same provider with no RPC layer. At teardown,
 * libfabric's own `fi_pingpong` (libfabric-bin) runs over `-p tcp -e rdm` and
 * `-p "tcp;ofi_rxm" -e rdm` with the same message size, in the same run; its round trip and
 * the helper's own per-round-trip times are printed and written to
 * bench-results/fabric-rtt-extra-<time>.json.
 *
 * `fabric-telemetry-cost`: the cost of the RPC layer's telemetry (per-opcode and per-context
 * counts and latency in a shared-memory tree, crt.c): run = 20 echo round trips between two
 * transports of a helper that keeps a telemetry tree; floor = the same in a second helper
 * without a tree (every update a NULL check, no clock reads). Same binary, same run.
 *
 * `fabric-coll-N` (N = 16, 64, 256 stand-in engines: N transports, each its own endpoint and
 * context thread, in the helper process): run = one collective RPC from rank 0 over the k-ary
 * tree (fan-out 32, DAOS_TREE_FANOUT's default), every rank's handler runs and the outputs
 * are aggregated; floor = the same N-1 remote RPCs sent one after the other from rank 0. A
 * ratio below 1 is the tree's gain.
 */
import { registerScenario } from "../scenario.ts";

const top = new URL("../../../", import.meta.url).pathname;
const native = `${top}engine-ffi/native`;
const helperPath = `${native}/build/bench_crt`;
const RTT_BATCH = 20;
const MSG_BYTES = 52 + 64; // the RPC layer's header + the echo payload: what the wire carries
const PINGPONG_ITERS = 2000;

/** Builds bench_crt (`make bench`); the pool benches use it for their collective floor. */
export async function build(): Promise<void> {
  const out = await new Deno.Command("make", {
    args: ["-s", "-C", native, "bench"],
    stdin: "null",
  }).output();
  if (!out.success) {
    throw new Error(
      `building bench_crt (make -C engine-ffi/native bench) failed:\n${
        new TextDecoder().decode(out.stderr)
      }`,
    );
  }
}

/** The helper process and its line protocol. */
export class BenchCrt {
  #child: Deno.ChildProcess;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #reader: ReadableStreamDefaultReader<string>;
  #buf = "";
  /** Elapsed µs measured inside the helper, per command word. */
  readonly inner = new Map<string, number[]>();

  constructor(args: string[]) {
    this.#child = new Deno.Command(helperPath, {
      args,
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
      // libpsm_infinipath (pulled in by libfabric) installs signal handlers otherwise
      env: { IPATH_NO_BACKTRACE: "1" },
    }).spawn();
    this.#writer = this.#child.stdin.getWriter();
    this.#reader = this.#child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  }

  async #line(): Promise<string> {
    while (!this.#buf.includes("\n")) {
      const { value, done } = await this.#reader.read();
      if (done) throw new Error("bench_crt exited (see its message above)");
      this.#buf += value;
    }
    const i = this.#buf.indexOf("\n");
    const line = this.#buf.slice(0, i);
    this.#buf = this.#buf.slice(i + 1);
    return line;
  }

  /** Waits for "ready" (transports up, links warm). */
  async ready(): Promise<void> {
    const l = await this.#line();
    if (l !== "ready") throw new Error(`bench_crt did not start: "${l}"`);
  }

  /** Runs one command; throws on "err ...". */
  async cmd(word: string, n: number): Promise<void> {
    await this.#writer.write(new TextEncoder().encode(`${word} ${n}\n`));
    const l = await this.#line();
    const m = /^ok ([0-9.]+)$/.exec(l);
    if (m === null) throw new Error(`bench_crt ${word} ${n}: ${l}`);
    const list = this.inner.get(word) ?? [];
    list.push(Number(m[1]) / n);
    this.inner.set(word, list);
  }

  async close(): Promise<void> {
    try {
      await this.#writer.write(new TextEncoder().encode("quit\n"));
      await this.#writer.close();
    } catch {
      /* already gone */
    }
    const t = setTimeout(() => {
      try {
        this.#child.kill("SIGKILL");
      } catch {
        /* exited */
      }
    }, 60_000);
    try {
      await this.#reader.cancel();
    } catch {
      /* closed */
    }
    await this.#child.status;
    clearTimeout(t);
  }
}

function p50(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.floor((s.length - 1) / 2)];
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Parses a fabtests duration ("1.52s", "759ms", "80us") into µs. */
function durationUs(s: string): number {
  const m = /^([0-9.]+)(s|ms|us|ns)$/.exec(s);
  if (m === null) throw new Error(`fi_pingpong: cannot read the time "${s}"`);
  const k = { s: 1e6, ms: 1e3, us: 1, ns: 1e-3 }[m[2] as "s" | "ms" | "us" | "ns"];
  return Number(m[1]) * k;
}

/** One fi_pingpong server/client pair over provider; the round trip in µs (time / iterations). */
async function fiPingpong(provider: string): Promise<number> {
  const port = String(freePort());
  const common = [
    "-p",
    provider,
    "-e",
    "rdm",
    "-I",
    String(PINGPONG_ITERS),
    "-S",
    String(MSG_BYTES),
  ];
  const server = new Deno.Command("fi_pingpong", {
    args: [...common, "-B", port],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    await new Promise((r) => setTimeout(r, 500)); // the server binds its port
    const out = await new Deno.Command("timeout", {
      args: ["60", "fi_pingpong", ...common, "-P", port, "127.0.0.1"],
      stdin: "null",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    if (!out.success) {
      throw new Error(
        `fi_pingpong -p ${provider} failed (exit ${out.code}): ${
          new TextDecoder().decode(out.stderr)
        }${text}`,
      );
    }
    // bytes #sent #ack total time MB/sec usec/xfer Mxfers/sec
    const row = text.trim().split("\n").at(-1)?.trim().split(/\s+/) ?? [];
    if (row.length < 8 || Number(row[0]) !== MSG_BYTES) {
      throw new Error(`fi_pingpong: unexpected output:\n${text}`);
    }
    return durationUs(row[4]) / PINGPONG_ITERS;
  } finally {
    try {
      server.kill("SIGKILL");
    } catch {
      /* exited with its client */
    }
    await server.status;
  }
}

{
  let h: BenchCrt | null = null;
  registerScenario({
    name: "fabric-rtt",
    description: `${RTT_BATCH} RPC round trips (64-byte echo, ofi+tcp) between two transports vs ` +
      `${RTT_BATCH} raw libfabric round trips of the same size; fi_pingpong at teardown`,
    setup: async () => {
      await build();
      h = new BenchCrt(["rtt", "ofi+tcp"]);
      await h.ready();
    },
    run: () => h!.cmd("crt", RTT_BATCH),
    floor: () => h!.cmd("raw", RTT_BATCH),
    teardown: async () => {
      if (h === null) return;
      const inner = h.inner;
      await h.close();
      h = null;
      const extra: Record<string, number | string> = {
        rpcRttP50Us: p50(inner.get("crt") ?? []),
        rawRttP50Us: p50(inner.get("raw") ?? []),
      };
      for (const prov of ["tcp", "tcp;ofi_rxm"]) {
        try {
          extra[`fiPingpong[${prov}]RttUs`] = await fiPingpong(prov);
        } catch (e) {
          extra[`fiPingpong[${prov}]`] = e instanceof Error ? e.message : String(e);
        }
      }
      console.error(
        `fabric-rtt (inside the helper, per round trip; fi_pingpong ` +
          `${PINGPONG_ITERS} x ${MSG_BYTES} B):\n${JSON.stringify(extra, null, 2)}`,
      );
      Deno.mkdirSync("bench-results", { recursive: true });
      Deno.writeTextFileSync(
        `bench-results/fabric-rtt-extra-${new Date().toISOString().replace(/[:.]/g, "-")}.json`,
        JSON.stringify(extra, null, 2) + "\n",
      );
    },
  });
}

{
  let on: BenchCrt | null = null;
  let off: BenchCrt | null = null;
  registerScenario({
    name: "fabric-telemetry-cost",
    description: `${RTT_BATCH} RPC round trips (64-byte echo, ofi+tcp) with the RPC layer's ` +
      `telemetry tree vs ${RTT_BATCH} in a helper without one`,
    setup: async () => {
      await build();
      try {
        on = new BenchCrt(["rtt", "ofi+tcp", "tm"]);
        await on.ready();
        off = new BenchCrt(["rtt", "ofi+tcp"]);
        await off.ready();
      } catch (e) {
        await on?.close();
        await off?.close();
        on = off = null;
        throw e;
      }
    },
    run: () => on!.cmd("crt", RTT_BATCH),
    floor: () => off!.cmd("crt", RTT_BATCH),
    teardown: async () => {
      const withTm = p50(on?.inner.get("crt") ?? []);
      const without = p50(off?.inner.get("crt") ?? []);
      await on?.close();
      await off?.close();
      on = off = null;
      console.error(
        `fabric-telemetry-cost (inside the helpers, p50 per round trip): ` +
          `with telemetry ${withTm} µs, without ${without} µs`,
      );
    },
  });
}

for (const ranks of [16, 64, 256]) {
  let h: BenchCrt | null = null;
  registerScenario({
    name: `fabric-coll-${ranks}`,
    description: `collective RPC to ${ranks} in-process stand-in transports (tree fan-out 32) ` +
      `vs ${ranks - 1} sequential point-to-point RPCs`,
    setup: async () => {
      await build();
      h = new BenchCrt(["coll", String(ranks), "32"]);
      await h.ready();
    },
    run: () => h!.cmd("coll", 1),
    floor: () => h!.cmd("p2p", 1),
    teardown: async () => {
      if (h === null) return;
      const inner = h.inner;
      await h.close();
      h = null;
      console.error(
        `fabric-coll-${ranks} (inside the helper) p50: collective ${
          p50(inner.get("coll") ?? []).toFixed(0)
        } µs, ${ranks - 1} sequential RPCs ${p50(inner.get("p2p") ?? []).toFixed(0)} µs`,
      );
    },
  });
}
