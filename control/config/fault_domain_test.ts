import assert from "node:assert/strict";
import { isFault } from "../lib/fault.ts";
import { faultPathProblem, hostFaultDomain, runFaultCallback } from "./fault_domain.ts";

async function withScript(
  body: string,
  mode: number,
  fn: (path: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "fault_cb_" });
  try {
    const path = `${dir}/domain.sh`;
    await Deno.writeTextFile(path, `#!/bin/sh\n${body}\n`);
    await Deno.chmod(path, mode);
    await fn(path);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function faultOf(p: Promise<unknown>): Promise<{ code: number; description: string }> {
  const e = await p.then(() => null, (x: unknown) => x);
  assert(isFault(e), `expected a Fault, got ${e}`);
  return e;
}

Deno.test("fault_cb output is the fault domain (trimmed, levels lower-cased)", async () => {
  await withScript("echo '  /Rack1/Node7  '", 0o755, async (cb) => {
    assert.equal(await runFaultCallback(cb), "/rack1/node7");
    assert.equal(await hostFaultDomain({ faultPath: "", faultCb: cb }, "h"), "/rack1/node7");
  });
  assert.equal(await hostFaultDomain({ faultPath: "", faultCb: "" }, "host9"), "/host9");
  assert.equal(await hostFaultDomain({ faultPath: "/R=1/N=2", faultCb: "" }, "h"), "/r=1/n=2");
});

Deno.test("fault_cb faults: 718 missing, 719 insecure, 720 not executable", async () => {
  await withScript("echo /r/h", 0o755, async (cb) => {
    const missing = await faultOf(runFaultCallback(`${cb}.nope`));
    assert.equal(missing.code, 718);
    assert.match(
      missing.description,
      /fault domain callback script not found: ".*domain\.sh\.nope"/,
    );
    await Deno.chmod(cb, 0o777);
    assert.equal((await faultOf(runFaultCallback(cb))).code, 719);
    await Deno.chmod(cb, 0o4755);
    assert.equal((await faultOf(runFaultCallback(cb))).code, 719);
    await Deno.chmod(cb, 0o755);
    const link = `${cb}.link`;
    await Deno.symlink(cb, link);
    assert.equal((await faultOf(runFaultCallback(link))).code, 719);
    await Deno.chmod(cb, 0o644);
    assert.equal((await faultOf(runFaultCallback(cb))).code, 720);
  });
});

Deno.test("fault_cb faults: 721 failing or hung, 723 silent, 717/724 bad path", async () => {
  await withScript("echo broken >&2; exit 3", 0o755, async (cb) => {
    const f = await faultOf(runFaultCallback(cb));
    assert.equal(f.code, 721);
    assert.match(f.description, /failed during execution: exit status 3: broken/);
  });
  await withScript("exec sleep 30", 0o755, async (cb) => {
    const f = await faultOf(runFaultCallback(cb, 200));
    assert.equal(f.code, 721);
    assert.match(f.description, /killed by SIGTERM/);
  });
  await withScript("printf '\\n  \\n'", 0o755, async (cb) => {
    const f = await faultOf(runFaultCallback(cb));
    assert.equal(f.code, 723);
    assert.match(f.description, /executed but did not generate output/);
  });
  await withScript("echo /a/b/c", 0o755, async (cb) => {
    assert.equal((await faultOf(runFaultCallback(cb))).code, 724);
  });
  await withScript("echo rack1", 0o755, async (cb) => {
    const f = await faultOf(runFaultCallback(cb));
    assert.equal(f.code, 717);
    assert.match(f.description, /printed invalid fault domain "rack1"/);
  });
});

Deno.test("fault path rules: levels, labels on all or none", () => {
  assert.equal(faultPathProblem("/rack1/host1"), null);
  assert.equal(faultPathProblem("/rack=1/node=2"), null);
  assert.equal(faultPathProblem("/rack=1/node")?.code, 717);
  assert.equal(faultPathProblem("/a/")?.code, 717);
  assert.equal(faultPathProblem("/")?.code, 717);
  assert.equal(faultPathProblem("/a/b/c")?.code, 724);
});
