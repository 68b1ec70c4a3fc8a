/**
 * The control plane in secure mode end to end: two daos_servers (one MS replica) with real
 * engines and certificates from scripts/gen-certs.sh, driven by dmg with the admin
 * certificate. Join (engine host → MS) and the leader's StopRanks/StartRanks fan-out to both
 * hosts travel over mutual TLS with the `server` certificate; dmg never may call them.
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { CtlSvc } from "../../proto/gen/ts/ctl/ctl_pb.ts";
import { TransportPool } from "../../control/lib/rpc/transport.ts";
import { LocalCluster } from "../cluster/local_cluster.ts";
import { CertDirs, secureConfigs } from "./tls_fixture.ts";

Deno.test({
  name:
    "secure cluster: format, join, system stop/start over mutual TLS; dmg denied server methods",
  fn: async () => {
    const certs = await CertDirs.create();
    let c: LocalCluster | undefined;
    try {
      c = await LocalCluster.create({ servers: 2, replicas: 1, engines: 1 });
      await secureConfigs(c, certs.good);
      await c.startAll();

      // Without certificates dmg gets nowhere.
      const plain = await c.dmg(["-i", "system", "query"]);
      equal(plain.code, 1);
      equal(plain.stdout, "");
      // dmg asks a random host of its list; whichever it was is named, with the fix.
      const fix = "remove --insecure / set transport_config.allow_insecure: false and " +
        "configure certificates";
      const asked = c.servers.map((s) =>
        `ERROR: dmg: system query failed: security: code = 900 description = "the server at ` +
        `${s.addr} requires TLS: ${fix}"\nERROR: dmg: security: code = 900 ` +
        `resolution = "${fix}"\n`
      );
      ok(asked.includes(plain.stderr), plain.stderr);

      const f = await c.dmg(["storage", "format"]);
      equal(f.code, 0, f.stdout + f.stderr);
      const cl = c;
      await cl.waitFor(
        "ranks 0-1 joined",
        async () => (await cl.joinedRanks()).length === 2,
        30_000,
      );
      const members = await c.members();
      deepEqual(members.map((m) => m.state).sort(), ["joined", "joined"]);
      deepEqual(new Set(members.map((m) => m.addr)), new Set(c.servers.map((s) => s.addr)));

      // The leader stops and starts the ranks of both hosts (CtlSvc *Ranks as `server`).
      const stop = await c.dmg(["system", "stop"]);
      equal(stop.code, 0, stop.stdout + stop.stderr);
      await cl.waitFor("all stopped", async () => {
        const ms = await cl.members();
        return ms.length === 2 && ms.every((m) => m.state === "stopped");
      }, 30_000);
      const start = await c.dmg(["system", "start"]);
      equal(start.code, 0, start.stdout + start.stderr);
      await cl.waitFor(
        "ranks 0-1 joined again",
        async () => (await cl.joinedRanks()).length === 2,
        30_000,
      );

      // The same methods with the admin certificate are refused by every host.
      const admin = await certs.load(certs.good, "admin");
      const pool = new TransportPool({ security: { allowInsecure: false, tls: admin } });
      try {
        for (const s of c.servers) {
          const err = await createClient(CtlSvc, pool.get(s.addr)).stopRanks({ ranks: "0-1" }).then(
            () => undefined,
            (e) => ConnectError.from(e),
          );
          equal(err?.code, Code.PermissionDenied, `${s.addr}: ${err}`);
          equal(err?.rawMessage, "admin does not have permission to call /ctl.CtlSvc/StopRanks");
        }
      } finally {
        pool.close();
      }
      ok((await c.joinedRanks()).length === 2, "the refused calls stopped nothing");
      // No server-to-server call was refused on the way.
      for (const s of c.servers) {
        const log = await c.log(s.index);
        match(log, /DAOS Control Server listening on/);
        ok(!/server does not have permission|component mismatch/.test(log), `${s.addr}:\n${log}`);
      }
    } finally {
      await c?.destroy();
      await certs.remove();
    }
  },
});
