/**
 * `format`: StorageFormat of H hosts × E engines (tmpfs SCM + 2 GiB file bdevs each), hosts
 * simulated as concurrent per-host format flows in this process; floor = formatting one
 * engine. `format-force-twice`: the same host formatted with --force twice in a row; floor =
 * one forced format. Every mount and file lives in one temp dir removed at teardown.
 */
import { checkServerConfigText } from "../../../control/config/load.ts";
import type { ServerConfig } from "../../../control/config/types.ts";
import { stoppedInstances } from "../../../control/ctl/storage_format.ts";
import { formatHostStorage } from "../../../control/storage/format.ts";
import { FormatGate } from "../../../control/storage/format_state.ts";
import { unmountBelow } from "../../integration/format_fixture.ts";
import { registerScenario } from "../scenario.ts";

const HOSTS = 4;
const ENGINES = 2;
const BDEV_GIB = 2;

function hostConfig(dir: string, engines: number): ServerConfig {
  let text = `provider: ofi+tcp\nsystem_ram_reserved: 1\nengines:\n`;
  for (let i = 0; i < engines; i++) {
    text += `  - targets: 1
    fabric_iface: lo
    fabric_iface_port: ${31416 + i}
    log_file: ${dir}/e${i}.log
    storage:
      - class: ram
        scm_mount: ${dir}/scm${i}
        scm_size: 4
      - class: file
        bdev_list: [${dir}/bdev${i}]
        bdev_size: ${BDEV_GIB}
`;
  }
  const r = checkServerConfigText(text, `${dir}/daos_server.yml`);
  if (!r.config || r.problems.length > 0) throw new Error(JSON.stringify(r.problems));
  return r.config;
}

async function format(cfg: ServerConfig): Promise<void> {
  const out = await formatHostStorage(cfg, stoppedInstances(cfg), {
    reformat: true,
    replace: false,
  }, { hostname: "bench", gate: new FormatGate() });
  const bad = [...out.scm, ...out.bdevs].find((r) => r.status !== "CTL_SUCCESS");
  if (bad) throw new Error(`format failed: ${bad.error}`);
}

let root = "";
let hosts: ServerConfig[] = [];
let single: ServerConfig | undefined;

async function setup(): Promise<void> {
  root = await Deno.makeTempDir({ prefix: "bench-format-" });
  hosts = [];
  for (let h = 0; h < HOSTS; h++) {
    await Deno.mkdir(`${root}/host${h}`);
    hosts.push(hostConfig(`${root}/host${h}`, ENGINES));
  }
  await Deno.mkdir(`${root}/single`);
  single = hostConfig(`${root}/single`, 1);
}

async function teardown(): Promise<void> {
  if (root === "") return;
  await unmountBelow(root);
  await Deno.remove(root, { recursive: true });
  root = "";
}

registerScenario({
  name: "format",
  description:
    `format ${HOSTS} hosts x ${ENGINES} engines (tmpfs + ${BDEV_GIB} GiB file bdev) concurrently; floor = one engine`,
  setup,
  run: () => Promise.all(hosts.map(format)),
  floor: () => format(single!),
  teardown,
});

registerScenario({
  name: "format-force-twice",
  description: `one host of ${ENGINES} engines formatted with --force twice in a row; floor = once`,
  setup,
  run: async () => {
    await format(hosts[0]);
    await format(hosts[0]);
  },
  floor: () => format(hosts[0]),
  teardown,
});
