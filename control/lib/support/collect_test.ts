import { deepEqual as assertEquals, ok as assert, rejects, throws } from "node:assert/strict";
import { parse } from "yaml";
import {
  chunked,
  Collector,
  gunzip,
  isSecretKey,
  readCapped,
  redactConfigYaml,
  REDACTED,
  sha256Hex,
  tarList,
  tarPack,
} from "./collect.ts";

Deno.test("isSecretKey: redaction table", () => {
  const cases: [string, unknown, boolean][] = [
    ["fabric_auth_key", "s3cr3t", true],
    ["FABRIC_AUTH_KEY", "s3cr3t", true],
    ["key", "/etc/daos/certs/server.key", false], // a cert key path stays a path
    ["key", "inline-pem-material", true],
    ["ca_cert", "/etc/daos/certs/daosCA.crt", false],
    ["api_key", "abc", true],
    ["db_password", "pw", true],
    ["provider_auth", "x", true],
    ["allow_insecure", true, false],
    ["log_file", "/tmp/daos.log", false],
    ["name", "daos_server", false],
    ["token", "t", true],
  ];
  for (const [k, v, want] of cases) assertEquals(isSecretKey(k, v), want, `${k}=${v}`);
});

Deno.test("redactConfigYaml: secrets gone, paths and other fields kept", () => {
  const cfg = `name: daos_server
port: 10001
transport_config:
  allow_insecure: false
  cert: /etc/daos/certs/server.crt
  key: /etc/daos/certs/server.key
fabric_auth_key: TOPSECRETVALUE
engines:
  - targets: 4
    env_vars:
      - FI_PASSWORD=HUNTER2
      - D_LOG_MASK=INFO
    storage:
      - class: ram
        scm_mount: /mnt/daos
`;
  const out = redactConfigYaml(cfg);
  assert(!out.includes("TOPSECRETVALUE"), out);
  assert(!out.includes("HUNTER2"), out);
  const doc = parse(out) as Record<string, unknown>;
  assertEquals(doc.fabric_auth_key, REDACTED);
  assertEquals((doc.transport_config as Record<string, unknown>).key, "/etc/daos/certs/server.key");
  const eng = (doc.engines as Record<string, unknown>[])[0];
  assertEquals(eng.env_vars, [`FI_PASSWORD=${REDACTED}`, "D_LOG_MASK=INFO"]);
  assertEquals(eng.targets, 4);
});

Deno.test("redactConfigYaml: invalid YAML is refused with a clear error", () => {
  throws(() => redactConfigYaml("a: [unclosed\nfabric_auth_key: x"), /not valid YAML/);
});

Deno.test("readCapped: truncates at the cap and refuses symlinks out of the dir", async () => {
  const dir = await Deno.makeTempDir();
  const out = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/a.log`, "0123456789");
    const r = await readCapped(`${dir}/a.log`, dir, 4);
    assertEquals(new TextDecoder().decode(r.data), "0123");
    assertEquals(r.sourceSize, 10);
    assert(r.truncated);
    const full = await readCapped(`${dir}/a.log`, dir, 100);
    assert(!full.truncated);
    await Deno.writeTextFile(`${out}/secret`, "nope");
    await Deno.symlink(`${out}/secret`, `${dir}/evil.log`);
    await rejects(() => readCapped(`${dir}/evil.log`, dir, 100), /outside/);
    await Deno.symlink(`${dir}/a.log`, `${dir}/ok.log`);
    assertEquals((await readCapped(`${dir}/ok.log`, dir, 100)).data.length, 10);
    await rejects(() => readCapped(dir, dir, 100), /not a regular file/);
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("Collector: caps, errors and index with sha256", async () => {
  const enc = new TextEncoder();
  const c = new Collector(5, 8);
  c.addData("a.txt", enc.encode("abcdefgh")); // file cap -> 5 bytes
  c.addData("b.txt", enc.encode("xyz1")); // total cap -> 3 bytes
  c.addData("c.txt", enc.encode("q")); // no room left
  await c.addFile("missing.log", "/nonexistent/x.log", "/nonexistent");
  c.addError("storage_scan", new Error("nvme gone"));
  const idx = await c.index("host1", new Date(0));
  assertEquals(idx.host, "host1");
  assertEquals(idx.files.map((f) => [f.name, f.size, f.source_size, f.truncated]), [
    ["a.txt", 5, 8, true],
    ["b.txt", 3, 4, true],
  ]);
  assertEquals(idx.files[0].sha256, await sha256Hex(enc.encode("abcde")));
  assert(idx.total_cap_reached);
  assertEquals(idx.errors.map((e) => e.item), ["c.txt", "missing.log", "storage_scan"]);
});

Deno.test("Collector.archive: a tar.gz that system tar reads, with index.json", async () => {
  const c = new Collector();
  c.addData("logs/control.log", new TextEncoder().encode("hello\n"));
  const { tgz, index } = await c.archive("h1", "h1");
  const members = tarList(await gunzip(tgz));
  assertEquals([...members.keys()].sort(), ["h1/index.json", "h1/logs/control.log"]);
  assertEquals(JSON.parse(new TextDecoder().decode(members.get("h1/index.json")!)).host, "h1");
  assertEquals(index.files.length, 1);
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/a.tgz`, tgz);
    const r = await new Deno.Command("tar", { args: ["-tzf", `${dir}/a.tgz`] }).output();
    assert(r.success, new TextDecoder().decode(r.stderr));
    assertEquals(new TextDecoder().decode(r.stdout).trim().split("\n").sort(), [
      "h1/index.json",
      "h1/logs/control.log",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tarPack: long names use the ustar prefix", () => {
  const name = "d/".repeat(60) + "file.log";
  const m = tarList(tarPack([{ name, data: new Uint8Array([1, 2, 3]) }]));
  assertEquals([...m.keys()], [name]);
});

Deno.test("chunked: splits under a limit and keeps an empty payload as one chunk", () => {
  assertEquals(chunked(new Uint8Array(10), 4).map((c) => c.length), [4, 4, 2]);
  assertEquals(chunked(new Uint8Array(0), 4).length, 1);
  throws(() => chunked(new Uint8Array(1), 0), /chunk size/);
});
