import { deepEqual } from "node:assert/strict";
import { readPmem } from "./pmem.ts";

Deno.test("readPmem: NVDIMMs and namespaces with a block device from /sys/bus/nd", async () => {
  const root = await Deno.makeTempDir({ prefix: "pmem-sysfs-" });
  try {
    deepEqual(await readPmem(root), { modules: 0, namespaces: [] }, "no nd bus: no PMem");
    const bus = `${root}/bus/nd/devices`;
    const put = async (path: string, text: string) => {
      await Deno.mkdir(path.replace(/\/[^/]*$/, ""), { recursive: true });
      await Deno.writeTextFile(path, text + "\n");
    };
    await Deno.mkdir(`${bus}/nmem0`, { recursive: true });
    await Deno.mkdir(`${bus}/nmem1`, { recursive: true });
    await Deno.mkdir(`${bus}/region0`, { recursive: true });
    await put(`${bus}/namespace0.0/size`, String(3 * 2 ** 30));
    await put(`${bus}/namespace0.0/uuid`, "8a2f1c1e-0000-4000-8000-000000000001");
    await put(`${bus}/namespace0.0/numa_node`, "1");
    await put(`${bus}/namespace0.0/mode`, "fsdax");
    await Deno.mkdir(`${bus}/namespace0.0/block/pmem0`, { recursive: true });
    // The seed namespace libnvdimm keeps per region: size 0, no block device.
    await put(`${bus}/namespace0.1/size`, "0");
    deepEqual(await readPmem(root), {
      modules: 2,
      namespaces: [{
        uuid: "8a2f1c1e-0000-4000-8000-000000000001",
        blockdev: "pmem0",
        dev: "namespace0.0",
        numaNode: 1,
        sizeBytes: 3 * 2 ** 30,
        mode: "fsdax",
      }],
    });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
