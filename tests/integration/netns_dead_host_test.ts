/**
 * dmg against a host that vanished without a trace, in a network namespace lab: the dead
 * host's neighbour entry on the dmg host is made permanent before its cable is pulled, so its
 * SYNs vanish as with the kernel's default ARP timers (no quick EHOSTUNREACH; the kernel would
 * retry for minutes). MS requests answer from the live candidate, a fan-out reports the dead
 * host as a connect timeout (508), and a dead only candidate fails with 508 too.
 */
import { equal, match, ok } from "node:assert/strict";
import { withLab } from "../netns/lab.ts";
import { ip } from "../netns/exec.ts";

const top = new URL("../../", import.meta.url).pathname;
const PORT = 10001;
/** Guard against a regression hanging on the dead host (the kernel would retry ~2 min). */
const GUARD_MS = 30_000;

/** Reads the child's stdout until `marker` shows up (bounded), then leaves it draining. */
async function waitFor(child: Deno.ChildProcess, marker: string, limitMs: number) {
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const timer = setTimeout(() => reader.cancel(), limitMs);
  try {
    while (!text.includes(marker)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
  } finally {
    clearTimeout(timer);
    reader.releaseLock();
  }
  if (!text.includes(marker)) throw new Error(`no "${marker}" from the stub server: ${text}`);
}

Deno.test("netns: dmg does not wait on a silently dead host", async () => {
  await withLab({ hosts: 2 }, async (lab) => {
    const [live, dead] = lab.hosts;
    const stub = lab.spawn(0, `${top}scripts/deno`, [
      "run",
      "-A",
      `${top}tests/integration/netns_stub_server.ts`,
      `${live.ip}:${PORT}`,
    ], { stdout: "piped" });
    try {
      await waitFor(stub, "listening", 20_000);
      // The dmg host knows the dead host's MAC for good, then the dead host disappears.
      ok(await lab.ping(0, 1), "h0 reaches h1 before it vanishes");
      const link = await ip("-n", dead.ns, "-o", "link", "show", dead.iface);
      const mac = /link\/ether ([0-9a-f:]{17})/.exec(link)?.[1];
      ok(mac, `no MAC in: ${link}`);
      await ip(
        ...["-n", live.ns, "neigh", "replace", dead.ip, "lladdr", mac, "dev", live.iface],
        ...["nud", "permanent"],
      );
      await lab.linkDown(1);

      const dir = await Deno.makeTempDir({ prefix: "netns-dead-host-" });
      try {
        const cfg = (hosts: string[]) =>
          `name: daos_server\nport: ${PORT}\nhostlist: [${hosts.join(", ")}]\n` +
          "transport_config:\n  allow_insecure: true\n";
        await Deno.writeTextFile(`${dir}/both.yml`, cfg([dead.ip, live.ip]));
        await Deno.writeTextFile(`${dir}/dead.yml`, cfg([dead.ip]));
        const dmg = (conf: string, ...args: string[]) =>
          lab.run(0, `${top}bin/dmg`, ["-o", `${dir}/${conf}.yml`, ...args], {
            timeoutMs: GUARD_MS,
          });

        // MS request: both hosts are candidates; the live one answers.
        const lq = await dmg("both", "system", "leader-query");
        equal(lq.timedOut, false, "leader-query hung on the dead host");
        equal(lq.code, 0, lq.stderr);
        match(lq.stdout, new RegExp(`${live.ip.replaceAll(".", "\\.")}:${PORT}`));

        // Fan-out: the dead host is a per-host connect timeout, the live one is scanned.
        const scan = await dmg("both", "network", "scan");
        equal(scan.timedOut, false, "network scan hung on the dead host");
        equal(scan.code, 1);
        const out = scan.stdout + scan.stderr;
        ok(
          out.includes(`the connection to the server at ${dead.ip}:${PORT} timed out`),
          out,
        );
        ok(out.includes(live.ip), out);

        // The dead host alone: the MS request fails with 508, not after the kernel's retries.
        const gone = await dmg("dead", "system", "leader-query");
        equal(gone.timedOut, false, "leader-query hung on the dead only candidate");
        equal(gone.code, 1);
        equal(
          gone.stderr,
          `ERROR: dmg: leader query failed: client: code = 508 description = "the connection ` +
            `to the server at ${dead.ip}:${PORT} timed out": unable to contact the DAOS ` +
            "Management Service\n",
        );
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    } finally {
      try {
        stub.kill("SIGKILL");
      } catch {
        // already gone
      }
      await stub.status;
      await stub.stdout.cancel().catch(() => {});
    }
  });
});
