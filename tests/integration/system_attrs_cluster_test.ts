/**
 * System attributes and properties with real daos_servers (3 MS replicas): dmg sets an
 * attribute and a property, reads them back, sees the self_heal property in system query and
 * the reserved MS attributes hidden; then the leader's server is killed and the values are
 * still there on the new leader, which takes writes too.
 */
import { deepEqual, equal, match, notEqual } from "node:assert/strict";
import { LocalCluster } from "../cluster/local_cluster.ts";

interface Prop {
  key: string;
  value: string;
  description: string;
}

async function leader(c: LocalCluster): Promise<string> {
  const r = await c.dmgJson<{ current_leader: string }>(["system", "leader-query"]);
  if (!r.response?.current_leader) throw new Error(`no leader: ${r.error}`);
  return r.response.current_leader;
}

async function attrs(c: LocalCluster, keys: string[] = []): Promise<Record<string, string>> {
  const r = await c.dmgJson<{ attributes: Record<string, string> }>([
    "system",
    "get-attr",
    ...(keys.length > 0 ? [keys.join(",")] : []),
  ]);
  if (r.error || !r.response) throw new Error(`get-attr: ${r.error}`);
  return r.response.attributes;
}

async function props(c: LocalCluster): Promise<Record<string, string>> {
  const r = await c.dmgJson<Prop[]>(["system", "get-prop"]);
  if (r.error || !r.response) throw new Error(`get-prop: ${r.error}`);
  return Object.fromEntries(r.response.map((p) => [p.key, p.value]));
}

Deno.test({
  name: "system attributes and properties: stored by the MS, kept across a leader change",
  fn: async (t) => {
    const c = await LocalCluster.create({ servers: 3, replicas: 3, engines: 1 });
    try {
      await c.startAll();
      const f = await c.dmg(["storage", "format"]);
      equal(f.code, 0, f.stdout + f.stderr);
      await c.waitFor("3 joined", async () => (await c.joinedRanks()).length === 3, 60_000);

      await t.step("set-attr / get-attr / del-attr; reserved keys refused and hidden", async () => {
        const s = await c.dmg(["system", "set-attr", "owner:lab-7,purpose:test"]);
        equal(s.code, 0, s.stdout + s.stderr);
        equal(s.stdout, "system set-attr succeeded\n");
        deepEqual(await attrs(c), { owner: "lab-7", purpose: "test" });
        const text = await c.dmg(["system", "get-attr", "owner"]);
        equal(text.stdout, "Name  Value \n----  ----- \nowner lab-7 \n");
        // The MS's own mgmt.fabric_providers is stored but never listed (above); nor set.
        const r = await c.dmg(["system", "set-attr", "mgmt.provider:ucx"]);
        equal(r.code, 1);
        match(r.stderr, /cannot set reserved key "mgmt\.provider"/);
        const d = await c.dmg(["system", "del-attr", "purpose"]);
        equal(d.code, 0, d.stderr);
        deepEqual(await attrs(c), { owner: "lab-7" });
        const missing = await c.dmgJson(["system", "get-attr", "purpose"]);
        equal(missing.code, 1);
        match(missing.error ?? "", /unable to find system attribute with key "purpose"/);
      });

      await t.step(
        "set-prop / get-prop: defaults, validation, self_heal in system query",
        async () => {
          const before = await props(c);
          deepEqual(before, {
            daos_system: "daos_server",
            daos_version: before.daos_version,
            pool_scrub_mode: "off",
            pool_scrub_thresh: "0",
            self_heal: "exclude;pool_exclude;pool_rebuild",
          });
          match(before.daos_version, /^\d+\.\d+\.\d+$/);
          const s = await c.dmg([
            "system",
            "set-prop",
            "self_heal:pool_rebuild,pool_scrub_mode:lazy",
          ]);
          equal(s.code, 0, s.stdout + s.stderr);
          const after = await props(c);
          equal(after.self_heal, "pool_rebuild");
          equal(after.pool_scrub_mode, "lazy");
          const q = await c.dmgJson<{ sys_self_heal_policy: string }>(["system", "query"]);
          equal(q.response?.sys_self_heal_policy, "pool_rebuild");
          // The text query warns about the flags the property turned off.
          const qt = await c.dmg(["system", "query"]);
          match(qt.stdout, /System property self_heal flags disabled: exclude, pool_exclude\n/);
          const ro = await c.dmg(["system", "set-prop", "daos_version:9.9.9"]);
          equal(ro.code, 1);
          match(ro.stderr, /system property "daos_version" is read-only/);
        },
      );

      await t.step("leader killed: values kept, the new leader takes writes", async () => {
        const lead = await leader(c);
        await c.kill(lead.replace(/:\d+$/, ""));
        const next = await c.waitFor("a new leader", async () => {
          const l = await leader(c).catch(() => "");
          return l !== "" && l !== lead ? l : null;
        }, 120_000);
        notEqual(next, lead);
        deepEqual(await attrs(c), { owner: "lab-7" });
        equal((await props(c)).self_heal, "pool_rebuild");
        const s = await c.dmg(["system", "set-attr", "owner:lab-8"]);
        equal(s.code, 0, s.stdout + s.stderr);
        deepEqual(await attrs(c, ["owner"]), { owner: "lab-8" });
      });
    } finally {
      await c.destroy();
    }
  },
});
