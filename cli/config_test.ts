import { deepEqual, equal, rejects, throws } from "node:assert/strict";
import { defaultControlConfig, loadControlConfig, parseControlConfig } from "./config.ts";

Deno.test("parseControlConfig: keys on top of defaults", () => {
  const c = parseControlConfig(
    "name: sys1\nport: 10002\nhostlist: ['wolf-[1-4]']\ntransport_config:\n  allow_insecure: true\n",
    "/x.yml",
  );
  deepEqual([c.name, c.port, c.hostlist, c.transportConfig.allowInsecure], [
    "sys1",
    10002,
    ["wolf-[1-4]"],
    true,
  ]);
  equal(c.transportConfig.caCert, "/etc/daos/certs/daosCA.crt");
  deepEqual(parseControlConfig("# all commented\n", "/x.yml").hostlist, ["localhost:10001"]);
});

Deno.test("parseControlConfig: strict keys and validation errors name the file and position", () => {
  throws(
    () => parseControlConfig("name: a\nhostlsit: [x]\n", "/c.yml"),
    /^Error: failed to load control configuration: \/c\.yml:2:1: unknown key "hostlsit"/,
  );
  throws(
    () => parseControlConfig("transport_config:\n  insecure: true\n", "/c.yml"),
    /\/c\.yml:2:3: unknown key "transport_config\.insecure"/,
  );
  throws(() => parseControlConfig("", "/c.yml"), /empty config file: \/c\.yml/);
  throws(
    () => parseControlConfig("name: abcdefghijklmnopq\n", "/c.yml"),
    /invalid system name: "abcdefghijklmnopq" \(use a system name of 1 to 15 characters\)/,
  );
  throws(() => parseControlConfig("port: 0\n", "/c.yml"), /invalid control port in configuration/);
  throws(() => parseControlConfig("hostlist: []\n", "/c.yml"), /empty hostlist parameter/);
  throws(
    () => parseControlConfig("port: [1\n", "/c.yml"),
    /\/c\.yml:2:1: invalid YAML: Flow sequence/,
  );
  throws(
    () => parseControlConfig("port: abc\n", "/c.yml"),
    /\/c\.yml:1:7: port: expected a number, got "abc"/,
  );
  throws(
    () => parseControlConfig("transport_config:\n  allow_insecure: [true]\n", "/c.yml"),
    /\/c\.yml:2:19: allow_insecure: expected a boolean, got a list/,
  );
});

Deno.test("loadControlConfig: search order, defaults when nothing found, -o must exist", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const second = `${dir}/b.yml`;
    await Deno.writeTextFile(second, "name: second\n");
    const c = await loadControlConfig(undefined, [`${dir}/missing.yml`, second]);
    equal(c.name, "second");
    equal(c.path, second);
    deepEqual(await loadControlConfig(undefined, [`${dir}/none.yml`]), defaultControlConfig());
    await rejects(
      loadControlConfig(`${dir}/nope.yml`),
      /failed to load control configuration: cannot read/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Fails instead of hanging when `p` does not settle (a regression would block on a FIFO). */
function bounded<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hung = new Promise<never>((_, rej) => {
    timer = setTimeout(() => rej(new Error(`${what}: still reading after 20 s`)), 20_000);
  });
  return Promise.race([p, hung]).finally(() => clearTimeout(timer));
}

Deno.test("loadControlConfig: -o of a device, FIFO, directory or huge file is refused before reading it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dmg-cfg-" });
  try {
    const fifo = `${dir}/fifo.yml`;
    const mk = await new Deno.Command("mkfifo", { args: [fifo] }).output();
    equal(mk.success, true);
    const huge = `${dir}/huge.yml`;
    await Deno.writeTextFile(huge, `hostlist: [${"'127.0.0.1',".repeat(100_000)}]\n`);
    for (const path of ["/dev/zero", fifo, dir]) {
      await rejects(
        bounded(loadControlConfig(path), path),
        new Error(`failed to load control configuration: cannot read ${path}: not a regular file`),
      );
    }
    await rejects(
      bounded(loadControlConfig(huge), huge),
      new Error(
        `failed to load control configuration: cannot read ${huge}: larger than the 1048576 ` +
          "bytes accepted (check that -o names a daos_control.yml)",
      ),
    );
    // A file of exactly the limit is read (and then parsed as usual).
    const edge = `${dir}/edge.yml`;
    const head = "hostlist: ['127.0.0.1']\n";
    await Deno.writeTextFile(edge, head + "#".repeat((1 << 20) - head.length - 1) + "\n");
    deepEqual((await loadControlConfig(edge)).hostlist, ["127.0.0.1"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("parseControlConfig: nesting thousands of levels deep is named, not a stack overflow", () => {
  throws(
    () => parseControlConfig(`hostlist: ${"[".repeat(50_000)}${"]".repeat(50_000)}\n`, "/x.yml"),
    {
      message:
        /^failed to load control configuration: \/x\.yml:1:\d+: invalid YAML: nesting too deep/,
    },
  );
});
