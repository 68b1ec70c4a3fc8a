/**
 * `dmg support collect-log` against a MockInvoker whose CollectLog is the real server handler
 * (ctl_support.ts) over a temp config per host: archives and indexes written, no secret in
 * them, chunking, -j, host errors, --stop-on-error, the non-empty folder refusal, --archive.
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { CtlSvc } from "../../proto/gen/ts/ctl/ctl_pb.ts";
import { MockInvoker, refused } from "../../control/lib/control/mock_invoker.ts";
import { type CtlSupportHandlers, ctlSupportHandlers } from "../../control/handlers/ctl_support.ts";
import { createServerContext } from "../../control/handlers/server_context.ts";
import type { NetworkScanSource } from "../../control/ctl/network_scan.ts";
import { fakeStorageSource } from "../../control/ctl/testing.ts";
import {
  engineYaml,
  LOCAL_SERVER_HEAD,
  parseConfig,
  ramTierYaml,
} from "../../tests/util/config_fixtures.ts";
import { archiveMembers, assertHostArchive } from "../../tests/util/support_archive.ts";
import { runDmg, testConfig } from "../testing/dmg_harness.ts";

const H1 = "h1:10001";
const H2 = "h2:10001";
const SECRET = "SUPERSECRETAUTHKEY";

const network: NetworkScanSource = {
  configuredProvider: "ofi+tcp",
  interfaces: () => Promise.resolve([]),
  topology: () => Promise.resolve({ numaCount: 1, coresPerNuma: 2 }),
};

/** A host: a temp dir with a control log, a config file holding a secret, a handler. */
async function host(dir: string, name: string, logBytes = 100) {
  const hdir = `${dir}/${name}`;
  await Deno.mkdir(hdir);
  const yaml = LOCAL_SERVER_HEAD + engineYaml(ramTierYaml("/mnt/d0")) +
    `control_log_file: ${hdir}/control.log\nfabric_auth_key: ${SECRET}\n`;
  await Deno.writeTextFile(`${hdir}/daos_server.yml`, yaml);
  await Deno.writeTextFile(`${hdir}/control.log`, "x".repeat(logBytes));
  const config = { ...parseConfig(yaml), path: `${hdir}/daos_server.yml` };
  const ctx = createServerContext({
    config,
    hostname: name,
    scan: { network, storage: fakeStorageSource(config.engines) },
  });
  return ctlSupportHandlers(ctx);
}

async function mock(dir: string, logBytes = 100): Promise<MockInvoker> {
  const h: Record<string, CtlSupportHandlers> = {
    [H1]: await host(dir, "h1", logBytes),
    [H2]: await host(dir, "h2", logBytes),
  };
  return new MockInvoker().on(CtlSvc.method.collectLog, (req, addr) => h[addr].collectLog(req));
}

Deno.test("collect-log: one archive + index per host, config redacted, text summary", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const m = await mock(dir);
    const out = `${dir}/out`;
    const r = await runDmg(
      ["support", "collect-log", "--target-folder", out],
      m,
      testConfig([
        H1,
        H2,
      ]),
    );
    equal(r.code, 0, r.err);
    match(r.out, /Host\s+Files/);
    match(r.out, /h1\s+\d+/);
    for (const h of ["h1", "h2"]) {
      assertHostArchive(await archiveMembers(`${out}/${h}.tar.gz`), h, SECRET);
      const idx = JSON.parse(await Deno.readTextFile(`${out}/${h}.index.json`));
      equal(idx.host, h);
      const log = idx.files.find((f: { name: string }) => f.name === "logs/control.log");
      deepEqual([log.size, log.truncated], [100, false]);
      // The telemetry of an engine that never ran is an item error, not a failure.
      ok(idx.errors.some((e: { item: string }) => e.item.startsWith("telemetry/")));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("collect-log: archives bigger than a chunk arrive whole (checksum checked)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // 6 MiB of random bytes do not compress: the archive exceeds one 4 MiB default read.
    const m = await mock(dir, 10);
    const rnd = new Uint8Array(6 * 1024 * 1024);
    for (let o = 0; o < rnd.length; o += 65536) crypto.getRandomValues(rnd.subarray(o, o + 65536));
    await Deno.writeFile(`${dir}/h1/control.log`, rnd);
    const r = await runDmg(
      ["-j", "support", "collect-log", "--target-folder", `${dir}/o`],
      m,
      testConfig([H1]),
    );
    equal(r.code, 0, r.err);
    ok(m.calls.filter((c) => c.method === "CollectLog").length >= 2, "expected chunked reads");
    const tar = await archiveMembers(`${dir}/o/h1.tar.gz`);
    deepEqual(tar.get("h1/logs/control.log"), rnd);
    const j = JSON.parse(r.out);
    equal(j.error, null);
    equal(j.response.hosts[0].host, "h1");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("collect-log: a failed host is a host error; the others are written", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const m = (await mock(dir)).fail(CtlSvc.method.collectLog, refused(H2), H2);
    const r = await runDmg(
      ["support", "collect-log", "--target-folder", `${dir}/o`],
      m,
      testConfig([H1, H2]),
    );
    equal(r.code, 1);
    match(r.out + r.err, /h2/);
    ok((await Deno.stat(`${dir}/o/h1.tar.gz`)).isFile);
    let h2 = true;
    await Deno.stat(`${dir}/o/h2.tar.gz`).catch(() => (h2 = false));
    ok(!h2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("collect-log --stop-on-error: nothing written when an item failed", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const m = await mock(dir); // telemetry items fail: no engine ran
    const r = await runDmg(
      ["support", "collect-log", "--stop-on-error", "--target-folder", `${dir}/o`],
      m,
      testConfig([H1]),
    );
    equal(r.code, 1);
    match(r.err, /stopped on error \(--stop-on-error\), nothing written: h1: telemetry/);
    let exists = true;
    await Deno.stat(`${dir}/o`).catch(() => (exists = false));
    ok(!exists);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("collect-log: refuses a non-empty target folder unless --force; --archive bundles", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const m = await mock(dir);
    await Deno.mkdir(`${dir}/o`);
    await Deno.writeTextFile(`${dir}/o/keep`, "k");
    const args = ["support", "collect-log", "--target-folder", `${dir}/o`];
    const r = await runDmg(args, m, testConfig([H1]));
    equal(r.code, 1);
    match(r.err, /not empty; choose another --target-folder or pass --force/);
    equal(m.calls.length, 0);
    const r2 = await runDmg([...args, "--force", "--archive"], m, testConfig([H1]));
    equal(r2.code, 0, r2.err);
    const all = await archiveMembers(`${dir}/o.tar.gz`);
    deepEqual([...all.keys()].sort(), ["o/h1.index.json", "o/h1.tar.gz", "o/keep"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("collect-log --extra-logs-dir: its files collected, a symlink out of it refused", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const m = await mock(dir);
    await Deno.mkdir(`${dir}/extra`);
    await Deno.writeTextFile(`${dir}/extra/app.log`, "app\n");
    await Deno.writeTextFile(`${dir}/outside`, SECRET);
    await Deno.symlink(`${dir}/outside`, `${dir}/extra/evil.log`);
    const r = await runDmg(
      [
        "-j",
        "support",
        "collect-log",
        "--target-folder",
        `${dir}/o`,
        "--extra-logs-dir",
        `${dir}/extra`,
      ],
      m,
      testConfig([H1]),
    );
    equal(r.code, 0, r.err);
    const tar = await archiveMembers(`${dir}/o/h1.tar.gz`);
    equal(new TextDecoder().decode(tar.get("h1/extra/app.log")), "app\n");
    ok(!tar.has("h1/extra/evil.log"));
    const errs = JSON.parse(r.out).response.hosts[0].errors as { item: string; error: string }[];
    const evil = errs.find((e) => e.item === "extra/evil.log");
    ok(evil, JSON.stringify(errs));
    match(evil.error, /outside .*not followed/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
