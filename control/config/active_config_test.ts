import assert from "node:assert/strict";
import { parse } from "yaml";
import { checkServerConfigText } from "./load.ts";
import { ACTIVE_CONFIG_NAME, saveActiveConfig } from "./active_config.ts";

Deno.test("active config is written read-only and loads back to the same config", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const text = `provider: ofi+verbs
socket_dir: ${dir}
engines:
  - targets: 2
    fabric_iface: ib0
    fabric_iface_port: 31416
    storage:
      - class: ram
        scm_mount: /mnt/daos0
        scm_size: 8
      - class: nvme
        bdev_list: ["0000:81:00.0"]
`;
    const cfg = checkServerConfigText(text, "a.yml").config!;
    assert.equal(await saveActiveConfig(cfg), true);
    const path = `${dir}/${ACTIVE_CONFIG_NAME}`;
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o444);
    const saved = await Deno.readTextFile(path);
    const raw = parse(saved) as { engines: Array<{ provider: string; storage: unknown[] }> };
    assert.equal(raw.engines[0].provider, "ofi+verbs;ofi_rxm");
    const again = checkServerConfigText(saved, path);
    assert.deepEqual(again.problems, []);
    assert.deepEqual(
      { ...again.config!, path: "", notices: [] },
      { ...cfg, path: "", notices: [] },
    );
    assert.equal(await saveActiveConfig(cfg), true); // overwrites its own read-only file
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
