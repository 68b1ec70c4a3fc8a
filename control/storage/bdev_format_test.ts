import assert from "node:assert/strict";
import { fileBdevBytes, scanNvmeSysfs } from "./bdev_format.ts";

Deno.test("file bdev size is bdev_size GiB rounded down to 4 KiB", () => {
  assert.equal(fileBdevBytes(1), 1 << 30);
  assert.equal(fileBdevBytes(16), 16 * 2 ** 30);
});

Deno.test("NVMe controllers are found in a sysfs tree by PCI class 0x0108xx", async () => {
  const root = await Deno.makeTempDir();
  try {
    const dev = async (addr: string, cls: string, numa: string) => {
      await Deno.mkdir(`${root}/${addr}`);
      await Deno.writeTextFile(`${root}/${addr}/class`, `${cls}\n`);
      await Deno.writeTextFile(`${root}/${addr}/vendor`, "0x8086\n");
      await Deno.writeTextFile(`${root}/${addr}/device`, "0x0a54\n");
      await Deno.writeTextFile(`${root}/${addr}/numa_node`, `${numa}\n`);
    };
    await dev("0000:81:00.0", "0x010802", "1");
    await dev("0000:00:1f.2", "0x010601", "0"); // SATA AHCI, not NVMe
    await dev("0000:5e:00.0", "0x010802", "-1");
    assert.deepEqual(await scanNvmeSysfs(root), [
      { pciAddr: "0000:5e:00.0", vendorId: "0x8086", deviceId: "0x0a54", numaNode: 0 },
      { pciAddr: "0000:81:00.0", vendorId: "0x8086", deviceId: "0x0a54", numaNode: 1 },
    ]);
    assert.deepEqual(await scanNvmeSysfs(`${root}/missing`), []);
    // Not a directory: a real failure, reported with the path instead of "no devices".
    await Deno.writeTextFile(`${root}/plain`, "");
    await assert.rejects(
      () => scanNvmeSysfs(`${root}/plain`),
      /scanning NVMe controllers in .*plain failed/,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
