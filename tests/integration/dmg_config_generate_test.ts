/**
 * `dmg config generate` against running daos_servers (2 hosts on loopback IPs): the config
 * it prints passes `daos_server config validate`, and both servers, restarted on it, format
 * (`dmg storage format`) and their ranks join. Only what is this test's site and not hardware
 * is changed before starting: the control port and address, the directories (socket, logs,
 * SCM mount), insecure transport, the fixture's MS DB ports, a small RAM-disk size, each
 * engine's fabric port (both hosts are this one machine, so they cannot share one), and the
 * fixture's allow_thp/system_ram_reserved (test hosts may run THP [always]). The hardware part
 * (engines, targets, helpers, fabric interface, provider, NUMA node, storage classes, the MS
 * replicas and fabric port passed as flags) is the generated one.
 */
import { deepEqual, equal, match } from "node:assert/strict";
import { parse, stringify } from "yaml";
import { DAOS_SERVER, freePort, LocalCluster } from "../cluster/local_cluster.ts";

type Yaml = Record<string, unknown>;
type Engine = { storage: Yaml[] } & Yaml;

async function daosServer(...args: string[]): Promise<{ code: number; out: string }> {
  const o = await new Deno.Command(DAOS_SERVER, { args, stdin: "null" }).output();
  const dec = new TextDecoder();
  return { code: o.code, out: dec.decode(o.stdout) + dec.decode(o.stderr) };
}

Deno.test({
  name:
    "dmg config generate: the hosts' config validates; daos_servers started on it format and join",
  fn: async () => {
    const c = await LocalCluster.create({ servers: 2, engines: 1 });
    try {
      await c.startAll();
      const replicas = c.servers.filter((s) => s.isReplica).map((s) => s.addr);
      const fabricPort = freePort();
      // This host's fabric is Ethernet with TCP; its SCM is a RAM disk, no SSDs.
      const flags = [
        "config",
        "generate",
        "-c",
        "ethernet",
        "-p",
        "ofi+tcp",
        "-e",
        "1",
        "-s",
        "-t",
        "-r",
        replicas.join(","),
        "-f",
        String(fabricPort),
      ];
      const g = await c.dmg(flags);
      equal(g.code, 0, g.stdout + g.stderr);
      equal(g.stderr, "");
      match(g.stdout, /^name: daos_server\nport: 10001\n/);
      const generated = parse(g.stdout) as Yaml;
      deepEqual(generated.mgmt_svc_replicas, replicas);
      const engines = generated.engines as Engine[];
      equal(engines.length, 1);
      deepEqual(engines[0].storage.map((t) => t.class), ["ram"]);
      equal(engines[0].fabric_iface_port, fabricPort);

      // -j carries the same config.
      const j = await c.dmgJson(flags);
      equal(j.code, 0, String(j.error));
      deepEqual(j.response, generated);

      const genPath = `${c.servers[0].dir}/generated.yml`;
      await Deno.writeTextFile(genPath, g.stdout);
      const v = await daosServer("config", "validate", "-o", genPath);
      equal(v.code, 0, v.out);
      match(v.out, /generated\.yml is valid\n$/);

      // Restart both servers on the generated config with this test's site settings.
      for (const s of c.servers) await c.stop(s.index);
      for (const s of c.servers) {
        const site = parse(await Deno.readTextFile(s.configPath)) as Yaml;
        const siteEngine = (site.engines as Engine[])[0];
        const cfg: Yaml = { ...generated };
        for (
          const k of [
            "port",
            "control_address",
            "socket_dir",
            "control_log_file",
            "control_log_mask",
            "transport_config",
            "mgmt_svc_db",
            "system_ram_reserved",
            "allow_thp",
          ]
        ) cfg[k] = site[k];
        const siteScm = siteEngine.storage[0];
        cfg.engines = engines.map((e) => ({
          ...e,
          log_file: siteEngine.log_file,
          // Both "hosts" are this machine: their engines cannot share one fabric port.
          fabric_iface_port: siteEngine.fabric_iface_port,
          storage: e.storage.map((t) => ({
            ...t,
            scm_mount: siteScm.scm_mount,
            scm_size: siteScm.scm_size,
          })),
        }));
        await Deno.writeTextFile(s.configPath, stringify(cfg));
      }
      await c.startAll();
      const f = await c.dmg(["storage", "format"]);
      equal(f.code, 0, f.stdout + f.stderr);
      await c.waitFor("2 ranks joined", async () => (await c.joinedRanks()).length === 2, 60_000);
      const members = await c.members();
      deepEqual(members.map((m) => m.addr.split(":")[0]).sort(), ["127.0.0.1", "127.0.0.2"]);
    } finally {
      await c.destroy();
    }
  },
});
