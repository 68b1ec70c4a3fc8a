import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { ResponseStatus } from "../../proto/gen/ts/ctl/common_pb.ts";
import { StorageFormatReqSchema } from "../../proto/gen/ts/ctl/storage_pb.ts";
import { engineYaml, parseConfig } from "../../tests/util/config_fixtures.ts";
import { FormatGate } from "../storage/format_state.ts";
import { harnessFormatInstances, type KillableInstance, storageFormat } from "./storage_format.ts";

const CFG = parseConfig(`provider: ofi+tcp
engines:
${
  engineYaml(`      - class: dcpm
        scm_list: [/dev/pmem0]
        scm_mount: /mnt/daos-test-never-mounted
`)
}`);

class FakeInstance implements KillableInstance {
  running = true;
  signals: string[] = [];
  isStarted() {
    return this.running;
  }
  stop(sig: Deno.Signal) {
    this.signals.push(sig);
    this.running = false;
    return true;
  }
  waitFor(pred: (i: KillableInstance) => boolean) {
    return Promise.resolve(pred(this));
  }
}

Deno.test("harness instances: running state and SIGKILL before reformat", async () => {
  const fake = new FakeInstance();
  const [inst] = harnessFormatInstances(CFG, [fake]);
  assert.equal(inst.isRunning(), true);
  await inst.kill();
  assert.deepEqual(fake.signals, ["SIGKILL"]);
  assert.equal(inst.isRunning(), false);
});

Deno.test("StorageFormat on dcpm: per-mount CTL_ERR_SCM with the no-PMem fault, nothing mounted", async () => {
  const resp = await storageFormat(create(StorageFormatReqSchema, {}), {
    config: CFG,
    instances: () =>
      harnessFormatInstances(
        CFG,
        [new FakeInstance()].map((f) => {
          f.running = false;
          return f;
        }),
      ),
    gate: new FormatGate(),
    hostname: "h",
  });
  assert.equal(resp.mrets.length, 1);
  assert.equal(resp.mrets[0].mntpoint, "/mnt/daos-test-never-mounted");
  assert.equal(resp.mrets[0].state?.status, ResponseStatus.CTL_ERR_SCM);
  assert.match(resp.mrets[0].state?.error ?? "", /No PMem modules exist on storage server/);
  assert.equal(await Deno.stat("/mnt/daos-test-never-mounted").then(() => 1, () => 0), 0);
});
