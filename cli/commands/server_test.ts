/**
 * `dmg server set-logmasks` on a MockInvoker: the request from the flags (unset fields reset),
 * `-d` as --streams inside the sub-command, text and -j output, per-engine and per-host errors;
 * `dmg server-version` from the MS.
 */
import { deepEqual, equal, match } from "node:assert/strict";
import { Command } from "commander";
import { MockInvoker, refused } from "../../control/lib/control/mock_invoker.ts";
import { CtlSvc } from "../../proto/gen/ts/ctl/ctl_pb.ts";
import type { SetLogMasksReq } from "../../proto/gen/ts/ctl/server_pb.ts";
import { MgmtSvc } from "../../proto/gen/ts/mgmt/mgmt_pb.ts";
import { runDmg, testConfig } from "../testing/dmg_harness.ts";
import { leafAlias, preferLeafFlags } from "./flag_collisions.ts";

const S = CtlSvc.method.setEngineLogMasks;

function sent(m: MockInvoker): SetLogMasksReq {
  return m.requests(S)[0] as SetLogMasksReq;
}

Deno.test("set-logmasks: masks, -d streams, -s subsystems sent to every host; success line", async () => {
  const m = new MockInvoker().reply(S, { errors: [] });
  const r = await runDmg(
    ["server", "set-logmasks", "-m", "ERR,mgmt=DEBUG", "-d", "io,mem", "-s", "mgmt"],
    m,
  );
  equal(r.code, 0, r.err);
  equal(r.out, "Engine log-masks updated successfully on the following hosts: h[1-2]\n");
  equal(r.err, "");
  deepEqual(m.calls.map((c) => c.addr), ["h1:10001", "h2:10001"]);
  const q = sent(m);
  deepEqual(
    [q.masks, q.streams, q.subsystems, q.resetMasks, q.resetStreams, q.resetSubsystems],
    ["ERR,mgmt=DEBUG", "io,mem", "mgmt", false, false, false],
  );
});

Deno.test("set-logmasks (alias slm) without flags resets every field; global -d still debug", async () => {
  const m = new MockInvoker().reply(S, { errors: [] });
  const r = await runDmg(["-d", "srv", "slm", "-l", "h1"], m);
  equal(r.code, 0, r.err);
  match(r.out, /following hosts: h1\n$/);
  const q = sent(m);
  deepEqual([q.masks, q.resetMasks, q.resetStreams, q.resetSubsystems], ["", true, true, true]);
  deepEqual(m.calls.map((c) => c.addr), ["h1:10001"]);
});

Deno.test("set-logmasks: an engine's refusal and an unreachable host are host errors", async () => {
  const m = new MockInvoker()
    .reply(
      S,
      { errors: ['engine-1: DER_INVAL(-1003): Invalid parameters (masks "LOUD")'] },
      "h1:10001",
    )
    .on(S, (_r, addr) => {
      throw refused(addr);
    }, "h2:10001");
  const r = await runDmg(["server", "set-logmasks", "-m", "LOUD"], m);
  equal(r.code, 1);
  match(r.err, /^ERROR: Errors:\n {2}Hosts Error/);
  match(r.err, /h1 +engine-1: DER_INVAL\(-1003\): Invalid parameters \(masks "LOUD"\)/);
  match(r.err, /h2 +the server at h2:10001 refused the connection/);
  match(r.err, /ERROR: dmg: set engine log level failed: 2 hosts had errors\n$/);
  equal(r.out, "");

  const j = await runDmg(["-j", "server", "set-logmasks", "-m", "LOUD"], m);
  equal(j.code, 1);
  const doc = JSON.parse(j.out);
  equal(doc.error, "2 hosts had errors");
  equal(Object.keys(doc.response.host_errors).length, 2);
  equal(doc.response.HostStorage, null);
});

Deno.test("set-logmasks -j: the updated host set", async () => {
  const m = new MockInvoker().reply(S, { errors: [] });
  const j = await runDmg(["-j", "server", "set-logmasks", "-m", "DEBUG"], m);
  equal(j.code, 0);
  const doc = JSON.parse(j.out);
  deepEqual(doc.response.HostStorage, { "0": { storage: null, hosts: "h[1-2]:10001" } });
  deepEqual(doc.response.host_errors, {});
});

Deno.test("set-logmasks: a bad flag and a stray argument are refused before any call", async () => {
  const m = new MockInvoker().reply(S, { errors: [] });
  let r = await runDmg(["server", "set-logmasks", "-x"], m);
  equal(r.code, 1);
  match(r.err, /unknown flag `x'/);
  r = await runDmg(["server", "set-logmasks", "DEBUG"], m);
  equal(r.code, 1);
  match(r.err, /unexpected arguments: DEBUG/);
  equal(m.calls.length, 0);
});

Deno.test("preferLeafFlags: only colliding flags after the sub-command are rewritten", () => {
  const p = new Command("dmg").option("-d, --debug").option("--timeout <d>");
  const leaf = p.command("grp").command("leaf").option("-d, --streams <s>").option("--timeout <m>")
    .option(`${leafAlias("timeout")} <m>`);
  p.command("other").option("--timeout <m>");
  void leaf;
  deepEqual(
    preferLeafFlags(p, ["-d", "grp", "leaf", "-d", "x", "-dy", "--timeout=3", "--", "-d"]),
    ["-d", "grp", "leaf", "--streams", "x", "--streams=y", "--leaf-timeout=3", "--", "-d"],
  );
  // No hidden alias: the global --timeout keeps the flag.
  deepEqual(preferLeafFlags(p, ["other", "--timeout", "1s"]), ["other", "--timeout", "1s"]);
});

const V = MgmtSvc.method.getAttachInfo;

Deno.test("server-version: the MS's build version, text and -j; request for all ranks", async () => {
  const m = new MockInvoker().reply(V, {
    buildInfo: { major: 2, minor: 9, patch: 100, tag: "" },
  });
  const r = await runDmg(["server-version"], m, testConfig(["h1:10001"]));
  equal(r.code, 0, r.err);
  equal(r.out, "DAOS Control Server version 2.9.100\n");
  const req = m.requests(V)[0] as { sys: string; allRanks: boolean };
  deepEqual([req.sys, req.allRanks], ["daos_server", true]);
  const j = await runDmg(["-j", "server-version"], m, testConfig(["h1:10001"]));
  equal(j.code, 0);
  deepEqual(JSON.parse(j.out), {
    response: { name: "DAOS Control Server", version: "2.9.100", build_info: "" },
    error: null,
    status: 0,
  });
});

Deno.test("server-version: MS down (every host refuses) fails with the connection error", async () => {
  const m = new MockInvoker().on(V, (_r, addr) => {
    throw refused(addr);
  });
  const r = await runDmg(["--timeout", "300ms", "server-version"], m, testConfig(["h1:10001"]));
  equal(r.code, 1);
  match(r.err, /ERROR: dmg: .*refused the connection/);
  equal(r.out, "");
  const j = await runDmg(
    ["-j", "--timeout", "300ms", "server-version"],
    m,
    testConfig(["h1:10001"]),
  );
  equal(j.code, 1);
  const doc = JSON.parse(j.out);
  equal(doc.response, null);
  match(doc.error, /refused the connection/);
});

Deno.test("server-version: a stray argument or a host list is refused", async () => {
  const m = new MockInvoker();
  let r = await runDmg(["server-version", "now"], m);
  equal(r.code, 1);
  match(r.err, /unexpected arguments: now/);
  r = await runDmg(["-l", "h1", "server-version"], m);
  equal(r.code, 1);
  match(r.err, /unknown flag `l'\/`host-list'/);
  equal(m.calls.length, 0);
});
