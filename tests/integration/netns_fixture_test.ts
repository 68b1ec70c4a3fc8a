/**
 * The network-namespace lab (tests/netns): hosts reach each other only through the switch,
 * an unplugged link isolates exactly one host until replugged, the root namespace has no
 * interface in the lab, and destroy/leftover sweeping removes namespaces and processes.
 */
import { deepEqual as assertEquals, ok as assert } from "node:assert/strict";
import { NetnsLab, withLab } from "../netns/lab.ts";
import { ip } from "../netns/exec.ts";
import { labNsName } from "../netns/names.ts";
import { listNamespaces, namespacePids, removeLeftoverLabs } from "../netns/teardown.ts";

Deno.test("netns lab: hosts reach each other; link down isolates one host until link up", async () => {
  await withLab({ hosts: 3 }, async (lab) => {
    assertEquals(lab.hosts.map((h) => h.ip), ["10.231.7.1", "10.231.7.2", "10.231.7.3"]);
    assert(await lab.ping(0, 1), "h0 -> h1");
    assert(await lab.ping(2, 0), "h2 -> h0");
    // Each host sees only loopback and its own eth0 with its address.
    const addrs = await lab.run(1, "ip", ["-o", "-4", "addr", "show"]);
    assertEquals(
      addrs.stdout.trim().split("\n").map((l) => l.split(/\s+/).slice(1, 4).join(" ")),
      ["lo inet 127.0.0.1/8", "eth0 inet 10.231.7.2/24"],
    );

    await lab.linkDown(1);
    assertEquals(await lab.linkIsUp(1), false);
    assertEquals(await lab.ping(0, 1), false, "h0 must not reach the unplugged h1");
    assertEquals(await lab.ping(1, 2), false, "the unplugged h1 must not reach h2");
    assert(await lab.ping(0, 2), "h0 -> h2 still works");

    // A TCP connect to the unplugged host fails with "No route to host" (short ARP timers),
    // rather than hanging in SYN retries; the bound only keeps a broken lab from hanging.
    const tcp = await lab.run(0, "bash", ["-c", `exec 3<>/dev/tcp/${lab.hosts[1].ip}/10001`], {
      timeoutMs: 30_000,
    });
    assertEquals(tcp.timedOut, false, "connect to an unplugged host hung");
    assert(tcp.stderr.includes("No route to host"), tcp.stderr);

    await lab.linkUp(1);
    assertEquals(await lab.linkIsUp(1), true);
    assert(await lab.ping(0, 1), "h0 -> h1 after link up");
    // Reachable again: a connect to a closed port is refused (an answer came back).
    const back = await lab.run(0, "bash", ["-c", `exec 3<>/dev/tcp/${lab.hosts[1].ip}/10001`]);
    assert(back.stderr.includes("Connection refused"), back.stderr);
  });
});

Deno.test("netns lab: no interface or route of the lab in the root namespace", async () => {
  await withLab({ hosts: 2, subnet: "10.231.8" }, async (lab) => {
    const links = await ip("-o", "link", "show");
    assert(!/\bbr0\b|\bh[01]@/.test(links), `root namespace has lab links:\n${links}`);
    const routes = await ip("-4", "route", "show");
    assert(!routes.includes("10.231.8."), `root namespace routes into the lab:\n${routes}`);
    // The lab's own namespaces do have the bridge with both ports attached.
    const ports = await ip("-n", lab.switchNs, "-o", "link", "show", "master", "br0");
    assertEquals(ports.trim().split("\n").length, 2);
  });
});

Deno.test("netns lab: destroy kills processes inside and removes every namespace", async () => {
  const lab = await NetnsLab.create({ hosts: 2 });
  let destroyed = false;
  try {
    const child = lab.spawn(1, "sleep", ["300"]);
    const pids = await waitPids(lab.hosts[1].ns);
    assert(pids.includes(child.pid), `sleep ${child.pid} not among ${pids}`);
    await lab.destroy();
    destroyed = true;
    assertEquals((await child.status).signal, "SIGKILL");
    const left = (await listNamespaces()).filter((n) => lab.namespaces().includes(n));
    assertEquals(left, []);
    await lab.destroy(); // idempotent
  } finally {
    if (!destroyed) await lab.destroy();
  }
});

Deno.test("netns lab: sweeping removes namespaces of dead owners, keeps live ones", async () => {
  // A lab namespace owned by a process that has exited, holding a process of its own.
  const dead = new Deno.Command("true").spawn();
  const deadPid = dead.pid;
  await dead.status;
  const stale = labNsName(deadPid, "stale", "h0");
  const live = labNsName(Deno.pid, "live", "h0");
  let orphan: Deno.ChildProcess | null = null;
  try {
    await ip("netns", "add", stale);
    await ip("netns", "add", live);
    orphan = new Deno.Command("ip", { args: ["netns", "exec", stale, "sleep", "300"] }).spawn();
    await waitPids(stale);
    const removed = await removeLeftoverLabs();
    assert(removed.includes(stale), `${stale} not swept: ${removed}`);
    assert(!removed.includes(live), "a live owner's namespace was swept");
    assertEquals((await orphan.status).signal, "SIGKILL");
    const names = await listNamespaces();
    assert(!names.includes(stale));
    assert(names.includes(live));
  } finally {
    try {
      orphan?.kill("SIGKILL");
    } catch {
      // already exited (the sweep killed it)
    }
    await orphan?.status.catch(() => {});
    for (const n of [stale, live]) await ip("netns", "del", n).catch(() => {});
  }
});

/** Pids in `ns`, once there is at least one (bounded wait). */
async function waitPids(ns: string): Promise<number[]> {
  for (let i = 0; i < 100; i++) {
    const p = await namespacePids(ns);
    if (p.length) return p;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no process appeared in ${ns}`);
}

Deno.test("netns lab: a host keeps its hostname and mounts across the processes run on it", async () => {
  await withLab({ hosts: 2 }, async (lab) => {
    const dir = await Deno.makeTempDir({ prefix: "netns-mnt-" });
    try {
      assertEquals((await lab.run(0, "hostname", [])).stdout.trim(), "h0");
      assertEquals((await lab.run(1, "hostname", [])).stdout.trim(), "h1");
      // /sys shows the host's own interfaces (what daos_server's network scan reads).
      const net = await lab.run(1, "ls", ["/sys/class/net"]);
      assertEquals(net.stdout.trim().split(/\s+/).sort(), ["eth0", "lo"]);
      // A tmpfs mounted by one process on h0 is seen by the next one there, not by h1 or root.
      const m = await lab.run(0, "mount", ["-t", "tmpfs", "tmpfs", dir]);
      assertEquals(m.code, 0, m.stderr);
      assertEquals(
        (await lab.run(0, "findmnt", ["-n", "-o", "FSTYPE", dir])).stdout.trim(),
        "tmpfs",
      );
      assertEquals((await lab.run(1, "findmnt", ["-n", dir])).code, 1);
      const rootView = await Deno.readTextFile("/proc/self/mountinfo");
      assert(!rootView.includes(` ${dir} `), "the host's mount leaked into the root namespace");
    } finally {
      await lab.destroy();
      await Deno.remove(dir, { recursive: true });
    }
  });
});
