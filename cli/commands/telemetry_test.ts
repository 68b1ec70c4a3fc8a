import { deepEqual, equal, match, ok, throws } from "node:assert/strict";
import { MockInvoker } from "../../control/lib/control/mock_invoker.ts";
import {
  parsePrometheusText,
  prometheusScrapeConfig,
  selectSets,
} from "../../control/lib/control/telemetry.ts";
import { runDmg, testConfig } from "../testing/dmg_harness.ts";

const SAMPLE = `# HELP engine_drpc_mgmt_set_rank_calls dRPC "set_rank" calls\\nper engine
# TYPE engine_drpc_mgmt_set_rank_calls counter
engine_drpc_mgmt_set_rank_calls{rank="0"} 1
engine_drpc_mgmt_set_rank_calls{rank="1"} 2
# HELP engine_sched_cycles cycles
# TYPE engine_sched_cycles gauge
engine_sched_cycles{rank="0",xstream="1"} 42
# HELP daos_cp_rpc_duration_seconds RPC time
# TYPE daos_cp_rpc_duration_seconds histogram
daos_cp_rpc_duration_seconds_bucket{le="0.1",method="a\\"b"} 3
daos_cp_rpc_duration_seconds_bucket{le="+Inf",method="a\\"b"} 4
daos_cp_rpc_duration_seconds_sum{method="a\\"b"} 0.25
daos_cp_rpc_duration_seconds_count{method="a\\"b"} 4
`;

Deno.test("parsePrometheusText: families, labels, escapes, histogram samples grouped", () => {
  const sets = parsePrometheusText(SAMPLE);
  deepEqual(sets.map((s) => [s.name, s.type, s.metrics.length]), [
    ["engine_drpc_mgmt_set_rank_calls", "counter", 2],
    ["engine_sched_cycles", "gauge", 1],
    ["daos_cp_rpc_duration_seconds", "histogram", 4],
  ]);
  equal(sets[0].description, 'dRPC "set_rank" calls\nper engine');
  deepEqual(sets[1].metrics[0], {
    name: "engine_sched_cycles",
    labels: { rank: "0", xstream: "1" },
    value: 42,
  });
  deepEqual(sets[2].metrics[1].labels, { le: "+Inf", method: 'a"b' });
  throws(() => parsePrometheusText("bad line here {\n"), /bad metrics line/);
  throws(() => selectSets(sets, ["nope"]), /unknown metric nope.*metrics list/);
  deepEqual(selectSets(sets, ["engine_sched_cycles"]).map((s) => s.name), [
    "engine_sched_cycles",
  ]);
});

Deno.test("prometheusScrapeConfig: one job with every host's exporter", () => {
  const text = prometheusScrapeConfig("daos_server", ["10.0.0.1", "fe80::1", "host-b"], 9191);
  ok(text.includes("job_name: daos_daos_server"), text);
  ok(text.includes('targets: ["10.0.0.1:9191", "[fe80::1]:9191", "host-b:9191"]'), text);
});

async function withExporter(fn: (port: number) => Promise<void>): Promise<void> {
  const ac = new AbortController();
  let port = 0;
  const ready = Promise.withResolvers<void>();
  const srv = Deno.serve(
    {
      hostname: "127.0.0.1",
      port: 0,
      signal: ac.signal,
      onListen: (a) => {
        port = a.port;
        ready.resolve();
      },
    },
    (req) =>
      new URL(req.url).pathname === "/metrics"
        ? new Response(SAMPLE)
        : new Response("no", { status: 404 }),
  );
  await ready.promise;
  try {
    await fn(port);
  } finally {
    ac.abort();
    await srv.finished;
  }
}

Deno.test("dmg telemetry metrics list/query over HTTP (text and -j)", async () => {
  await withExporter(async (port) => {
    const inv = new MockInvoker();
    const list = await runDmg(
      ["telemetry", "metrics", "list", "-l", "127.0.0.1", "-p", String(port)],
      inv,
    );
    equal(list.code, 0, list.err);
    match(list.out, /^Metric Set\s+Type\s+Description/m);
    match(list.out, /^engine_sched_cycles\s+Gauge\s+cycles/m);
    const q = await runDmg(
      [
        "telemetry",
        "metrics",
        "query",
        "-l",
        "127.0.0.1",
        "-p",
        String(port),
        "-m",
        "engine_drpc_mgmt_set_rank_calls",
      ],
      inv,
    );
    equal(q.code, 0, q.err);
    match(q.out, /- Metric Set: engine_drpc_mgmt_set_rank_calls \(Type: Counter\)/);
    match(q.out, /Counter\s+\(rank=1\)\s+2/);
    ok(!q.out.includes("engine_sched_cycles"), q.out);
    const j = await runDmg(
      ["-j", "telemetry", "metrics", "query", "-l", "127.0.0.1", "-p", String(port)],
      inv,
    );
    equal(j.code, 0, j.err);
    const doc = JSON.parse(j.out);
    equal(doc.status, 0);
    equal(doc.response.metric_sets.length, 3);
    const bad = await runDmg(
      ["telemetry", "metrics", "query", "-l", "127.0.0.1", "-p", String(port), "-m", "x"],
      inv,
    );
    equal(bad.code, 1);
    match(bad.err, /unknown metric x/);
  });
});

Deno.test("dmg telemetry metrics list: no exporter is an error naming the URL and the fix", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  const r = await runDmg(
    ["telemetry", "metrics", "list", "-l", "127.0.0.1", "-p", String(port)],
    new MockInvoker(),
  );
  equal(r.code, 1);
  match(r.err, new RegExp(`127\\.0\\.0\\.1:${port}/metrics.*telemetry_port`));
});

Deno.test("dmg telemetry config: prints and writes the scrape config for the hosts", async () => {
  const inv = new MockInvoker();
  const cfg = testConfig(["h1:10001", "h2:10001"]);
  const r = await runDmg(["telemetry", "config", "-p", "9200"], inv, cfg);
  equal(r.code, 0, r.err);
  ok(r.out.includes('targets: ["h1:9200", "h2:9200"]'), r.out);
  const dir = await Deno.makeTempDir();
  try {
    const w = await runDmg(["telemetry", "config", "-f", `${dir}/prom.yml`], inv, cfg);
    equal(w.code, 0, w.err);
    const text = await Deno.readTextFile(`${dir}/prom.yml`);
    ok(text.includes('targets: ["h1:9191", "h2:9191"]'), text);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
