import assert from "node:assert/strict";
import {
  engineYaml,
  fileTierYaml,
  parseConfig,
  ramTierYaml,
} from "../../tests/util/config_fixtures.ts";
import { renderNvmeConf } from "./nvme_conf.ts";

const engine = (yaml: string) => parseConfig(yaml).engines[0];

const FILES = `provider: ofi+tcp
engines:
${engineYaml(ramTierYaml("/mnt/daos0") + fileTierYaml(["/tmp/a", "/tmp/b"]))}`;

Deno.test("daos_nvme.conf for file bdevs: exact §3.6 layout", () => {
  const text = renderNvmeConf(engine(FILES), { hostname: "h1", vmdEnabled: false });
  assert.equal(
    text,
    `{
  "daos_data": {
    "config": [
      {
        "params": {
          "begin": 0,
          "end": 255
        },
        "method": "hotplug_busid_range"
      }
    ]
  },
  "subsystems": [
    {
      "subsystem": "bdev",
      "config": [
        {
          "params": {
            "bdev_io_pool_size": 65536,
            "bdev_io_cache_size": 256
          },
          "method": "bdev_set_options"
        },
        {
          "params": {
            "transport_retry_count": 4,
            "timeout_us": 0,
            "nvme_adminq_poll_period_us": 100000,
            "action_on_timeout": "none",
            "nvme_ioq_poll_period_us": 0
          },
          "method": "bdev_nvme_set_options"
        },
        {
          "params": {
            "block_size": 4096,
            "name": "AIO_h1_0_1_0",
            "filename": "/tmp/a"
          },
          "method": "bdev_aio_create"
        },
        {
          "params": {
            "block_size": 4096,
            "name": "AIO_h1_1_1_0",
            "filename": "/tmp/b"
          },
          "method": "bdev_aio_create"
        },
        {
          "params": {
            "enable": true,
            "period_us": 5000000
          },
          "method": "bdev_nvme_set_hotplug"
        }
      ]
    }
  ]
}`,
  );
});

Deno.test("daos_nvme.conf for MD-on-SSD nvme tiers with accel, auto-faulty, iobuf, no hotplug", () => {
  const yaml = Deno.readTextFileSync(
    new URL("../config/testdata/reference_mdonssd_tcp.yml", import.meta.url),
  );
  const conf = JSON.parse(renderNvmeConf(engine(yaml), { hostname: "n1", vmdEnabled: true })!);
  assert.deepEqual(conf.daos_data.config, [
    { params: { accel_engine: "spdk", accel_opts: 3 }, method: "accel_props" },
    { params: { enable: true, max_io_errs: 1, max_csum_errs: 2 }, method: "auto_faulty" },
  ]);
  const bdev = conf.subsystems[0].config;
  assert.deepEqual(bdev.slice(2, 6).map((m: { params: { name: string } }) => m.params.name), [
    "Nvme_n1_0_1_4",
    "Nvme_n1_0_2_2",
    "Nvme_n1_0_3_1",
    "Nvme_n1_1_3_1",
  ]);
  assert.deepEqual(bdev[6], {
    params: { enable: false, period_us: 0 },
    method: "bdev_nvme_set_hotplug",
  });
  assert.deepEqual(conf.subsystems.slice(1), [
    { subsystem: "vmd", config: [{ params: {}, method: "vmd_enable" }] },
    {
      subsystem: "iobuf",
      config: [{
        params: { small_pool_count: 16384, large_pool_count: 2048 },
        method: "iobuf_set_options",
      }],
    },
  ]);
});

Deno.test("no daos_nvme.conf without bdev tiers", () => {
  const noBdev = FILES.split("      - class: file")[0];
  assert.equal(renderNvmeConf(engine(noBdev), { hostname: "h", vmdEnabled: false }), null);
});
