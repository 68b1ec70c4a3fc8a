import assert from "node:assert/strict";
import { engineYaml, parseConfig } from "../../tests/util/config_fixtures.ts";
import { harnessFormatInstances, type KillableInstance } from "./storage_format.ts";

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
