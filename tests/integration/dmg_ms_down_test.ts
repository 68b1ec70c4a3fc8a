/**
 * dmg while the MS is down (issue 15 item 8): real daos_servers whose MS is not there (never
 * formatted, which is also the state after `system erase`; then two of the three replicas
 * stopped). `dmg system query` says on stderr what it waits for while it retries, ends within
 * `--timeout`, and ends with the MS's own diagnosis (as `system erase` gives it), not with a
 * bare timeout. A bad `--timeout` is refused naming the value.
 */
import { equal, match, ok } from "node:assert/strict";
import { LocalCluster } from "../cluster/local_cluster.ts";

const UNINIT = "system is uninitialized \\(storage format required\\?\\)";
/** 3 s as reported: the deadline is taken a moment before the request starts its clock. */
const AFTER_3S = "after (3s|2\\.99\\ds)";

Deno.test({
  name: "dmg system query with the MS down: progress on stderr, bounded, MS diagnosis",
  fn: async (t) => {
    const c = await LocalCluster.create({ servers: 3, replicas: 3, engines: 1 });
    try {
      await c.startAll();

      await t.step("no replica has an MS: 3 of 3 not ready", async () => {
        // The fixture kills dmg after 60 s; --timeout must end it well before.
        const r = await c.dmg(["--timeout", "3s", "system", "query"]);
        equal(r.code, 1, r.stdout + r.stderr);
        match(
          r.stderr,
          new RegExp(
            `NOTICE: no MS leader yet: 3 of 3 hosts asked not ready \\(${UNINIT}\\); retrying`,
          ),
        );
        match(
          r.stderr,
          new RegExp(
            `ERROR: dmg: system query failed: ${UNINIT}: the SystemQuery request timed out ` +
              `${AFTER_3S}; 3 of 3 hosts asked not ready\\n`,
          ),
        );
        ok(!r.stderr.includes("killed"), r.stderr);
      });

      await t.step("two replicas stopped: 2 of 3 unreachable, 1 not ready", async () => {
        await c.stop(1);
        await c.stop(2);
        const r = await c.dmgJson(["--timeout", "3s", "system", "query"]);
        equal(r.code, 1, JSON.stringify(r));
        match(
          r.error ?? "",
          new RegExp(
            `^${UNINIT}: the SystemQuery request timed out ${AFTER_3S}; ` +
              `2 of 3 hosts asked unreachable, 1 of 3 hosts asked not ready$`,
          ),
        );
        const text = await c.dmg(["--timeout", "2s", "system", "query"]);
        match(
          text.stderr,
          new RegExp(
            `NOTICE: no MS leader yet: 2 of 3 hosts asked unreachable, 1 of 3 hosts asked ` +
              `not ready \\(${UNINIT}\\); retrying`,
          ),
        );
      });

      await t.step("a bad --timeout names the value and the forms accepted", async () => {
        const r = await c.dmg(["--timeout", "soon", "system", "query"]);
        equal(r.code, 1);
        match(
          r.stderr,
          /invalid --timeout "soon": give a positive duration such as 30s, 2m or 90 \(seconds\)/,
        );
      });
    } finally {
      await c.destroy();
    }
  },
});
