import { deepEqual, equal, match, ok } from "node:assert/strict";
import { EtcdClient } from "../mgmt/etcd_client.ts";
import type { EngineMetric, EngineMetrics } from "../../engine-ffi/telemetry.ts";
import { TelemetryError } from "../../engine-ffi/telemetry.ts";
import { ControlPlaneMetrics } from "./cp_metrics.ts";
import { serveTelemetry, TelemetryExporter } from "./telemetry_exporter.ts";
import {
  addEngineMetrics,
  FamilySet,
  promName,
  renderFamilies,
  renderLabels,
} from "./telemetry_format.ts";

function includes(text: string, part: string): void {
  ok(text.includes(part), `expected ${JSON.stringify(part)} in:\n${text}`);
}

const POOL = "6f3e2a10-1b2c-4d5e-8f90-0123456789ab";
const CONT = "0a1b2c3d-4e5f-4061-8273-94a5b6c7d8e9";

Deno.test("promName: §8 names and labels", () => {
  deepEqual(promName("started_at"), { name: "engine_started_at", labels: {} });
  deepEqual(promName("events/dead_ranks"), { name: "engine_events_dead_ranks", labels: {} });
  deepEqual(promName(`pool/${POOL}/ops/pool_query`), {
    name: "engine_pool_ops_pool_query",
    labels: { pool: POOL },
  });
  deepEqual(promName(`pool/${POOL}/cont/${CONT}/ops/open`), {
    name: "engine_pool_cont_ops_open",
    labels: { pool: POOL, container: CONT },
  });
  deepEqual(promName("io/latency/update/4KB"), {
    name: "engine_io_latency_update",
    labels: { size: "4KB" },
  });
  deepEqual(promName("net/ofi+tcp/hg/active_rpcs/ctx_3"), {
    name: "engine_net_hg_active_rpcs",
    labels: { provider: "ofi+tcp", context: "3" },
  });
  deepEqual(promName("net/uri/lookup_self"), { name: "engine_net_uri_lookup_self", labels: {} });
  // the RPC layer's per-opcode and per-context metrics (crt.c)
  deepEqual(promName("net/ofi+tcp/op/swim.probe/latency"), {
    name: "engine_net_op_latency",
    labels: { provider: "ofi+tcp", opcode: "swim.probe" },
  });
  deepEqual(promName("net/ofi+tcp/req_timeout/ctx_0"), {
    name: "engine_net_req_timeout",
    labels: { provider: "ofi+tcp", context: "0" },
  });
  deepEqual(promName("nvme/0000:81:00.0/commands/read"), {
    name: "engine_nvme_commands_read",
    labels: { device: "0000:81:00.0" },
  });
  deepEqual(promName("sched/xs_2/cycles"), {
    name: "engine_sched_cycles",
    labels: { xstream: "2" },
  });
  deepEqual(promName("io/tgt_7/Update-Ops"), {
    name: "engine_io_update_ops",
    labels: { target: "7" },
  });
  deepEqual(promName("drpc/mgmt/set_rank/calls"), {
    name: "engine_drpc_mgmt_set_rank_calls",
    labels: {},
  });
});

function counter(path: string, value: number, desc = ""): EngineMetric {
  return { path, desc, units: "", type: "counter", value };
}

Deno.test("text format: HELP/TYPE once per family, rank always, escapes, durations", () => {
  const fs = new FamilySet();
  addEngineMetrics(fs, 0, [
    counter("drpc/mgmt/set_rank/calls", 3, 'dRPC "calls"\nper method'),
    counter("sched/xs_0/cycles", 10),
    counter("sched/xs_1/cycles", 11),
    {
      path: "drpc/mgmt/set_rank/latency",
      desc: "latency",
      units: "ns",
      type: "duration",
      count: 3,
      sum: 30,
      min: 5,
      max: 15,
      mean: 10,
      stddev: 5,
      last: 12,
    },
  ]);
  addEngineMetrics(fs, 1, [counter("drpc/mgmt/set_rank/calls", 4)]);
  const text = renderFamilies(fs.families());
  const lines = text.trimEnd().split("\n");
  deepEqual(
    lines.filter((l) => l === "# TYPE engine_drpc_mgmt_set_rank_calls counter").length,
    1,
  );
  includes(text, '# HELP engine_drpc_mgmt_set_rank_calls dRPC "calls"\\nper method\n');
  includes(text, 'engine_drpc_mgmt_set_rank_calls{rank="0"} 3\n');
  includes(text, 'engine_drpc_mgmt_set_rank_calls{rank="1"} 4\n');
  includes(text, 'engine_sched_cycles{rank="0",xstream="1"} 11\n');
  includes(text, 'engine_drpc_mgmt_set_rank_latency{rank="0"} 12\n');
  includes(text, 'engine_drpc_mgmt_set_rank_latency_mean{rank="0"} 10\n');
  includes(text, "# TYPE engine_drpc_mgmt_set_rank_latency_samples counter\n");
  // Every sample line of a family follows its own TYPE line (families are contiguous).
  let current = "";
  for (const l of lines) {
    const t = l.match(/^# TYPE (\S+) /);
    if (t) current = t[1];
    else if (!l.startsWith("#")) ok(l.startsWith(`${current}{`), `${l} outside ${current}`);
  }
  deepEqual(renderLabels({ b: 'x"y\\', a: "1" }), '{a="1",b="x\\"y\\\\"}');
});

function tree(metrics: EngineMetric[]): EngineMetrics {
  return { system: "daos_server", instance: 0, pid: 1, created: 0, metrics };
}

Deno.test("exporter: sources added and removed; a vanished engine only drops its metrics", async () => {
  const gone = new Set<number>();
  const logs: string[] = [];
  const exp = new TelemetryExporter(
    (idx) => {
      if (gone.has(idx)) throw new TelemetryError("not_running", 2, `no tree for ${idx}`);
      return tree([counter("started_at", 100 + idx)]);
    },
    () => Promise.resolve("# extra\n"),
    (m) => logs.push(m),
  );
  deepEqual(await exp.scrape(), "# extra\n");
  exp.addSource(0, 4);
  exp.addSource(1, 5);
  let text = await exp.scrape();
  includes(text, 'engine_started_at{rank="4"} 100\n');
  includes(text, 'engine_started_at{rank="5"} 101\n');
  gone.add(1); // engine 1 dies between ready and the scrape
  text = await exp.scrape();
  includes(text, 'engine_started_at{rank="4"} 100\n');
  ok(!text.includes('rank="5"'), text);
  match(text, /engine_exporter_scrape_duration_seconds\{result="error",source="engine_1"\}/);
  deepEqual(logs.length, 1);
  exp.removeSource(1);
  deepEqual(exp.sources(), [0]);
  text = await exp.scrape();
  ok(!text.includes("engine_1"), text);
});

Deno.test("HTTP: /metrics and / served, control-plane histogram included", async () => {
  const cp = new ControlPlaneMetrics({ isLeader: () => true, mapVersion: () => 7 });
  cp.rpcDuration.observe({ method: "mgmt.MgmtSvc/Join", code: "OK" }, 0.002);
  const exp = new TelemetryExporter(
    () => tree([counter("rank", 2)]),
    () => cp.render(),
    () => {},
  );
  exp.addSource(0, 2);
  const srv = await serveTelemetry(exp, "127.0.0.1", 0);
  try {
    const r = await fetch(`http://${srv.address}/metrics`);
    deepEqual(r.status, 200);
    includes(r.headers.get("content-type") ?? "", "text/plain");
    const text = await r.text();
    includes(text, 'engine_rank{rank="2"} 2\n');
    includes(text, "# TYPE daos_cp_rpc_duration_seconds histogram");
    match(
      text,
      /daos_cp_rpc_duration_seconds_count\{method="mgmt.MgmtSvc\/Join",code="OK"\} 1/,
    );
    includes(text, "daos_cp_mgmt_svc_leader 1\n");
    includes(text, "daos_cp_system_map_version 7\n");
    const idx = await fetch(`http://${srv.address}/`);
    includes(await idx.text(), "<title>DAOS Engine Telemetry</title>");
    const nf = await fetch(`http://${srv.address}/nope`);
    await nf.body?.cancel();
    deepEqual(nf.status, 404);
  } finally {
    await srv.close();
  }
});

Deno.test("HTTP: a taken port is a clear error naming telemetry_port", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const port = (l.addr as Deno.NetAddr).port;
    const exp = new TelemetryExporter(() => tree([]), () => Promise.resolve(""), () => {});
    let msg = "";
    await serveTelemetry(exp, "127.0.0.1", port).then((s) => s.close(), (e) => msg = String(e));
    includes(msg, `telemetry_port ${port}`);
  } finally {
    l.close();
  }
});

Deno.test("control-plane metrics: fan-outs timed, per-host group-update failures counted", async () => {
  const cp = new ControlPlaneMetrics(null);
  const f = cp.instrumentFanout({
    callRanks: (method) =>
      method === "StopRanks" ? Promise.reject(new Error("host down")) : Promise.resolve([]),
    groupUpdate: (addr) =>
      addr === "10.0.0.2:10001" ? Promise.reject(new Error("refused")) : Promise.resolve([]),
  });
  deepEqual(await f.callRanks("StartRanks", new Map([["10.0.0.1:10001", [0]]]), false), []);
  let failed = false;
  await f.callRanks("StopRanks", new Map(), false).catch(() => failed = true);
  ok(failed);
  await f.groupUpdate!("10.0.0.2:10001", {} as never).catch(() => {});
  await f.groupUpdate!("10.0.0.1:10001", {} as never);
  const text = await cp.render();
  match(text, /daos_cp_fanout_duration_seconds_count\{method="StartRanks",result="ok"\} 1/);
  match(text, /daos_cp_fanout_duration_seconds_count\{method="StopRanks",result="error"\} 1/);
  match(text, /daos_cp_fanout_duration_seconds_count\{method="GroupUpdate",result="ok"\} 1/);
  match(
    text,
    /daos_cp_fanout_host_failures_total\{method="GroupUpdate",host="10.0.0.2:10001"\} 1/,
  );
  ok(!text.includes('host="10.0.0.1:10001"'), text);
  ok(!text.includes("daos_cp_mgmt_svc_leader"), "no MS gauges without an MS view");
});

Deno.test("control-plane metrics: etcd txn latency by result and group-update lag from the MS hooks", async () => {
  const cp = new ControlPlaneMetrics(null);
  const h = cp.msHooks();
  h.etcdTxn(0.002, true);
  h.etcdTxn(0.003, true);
  h.etcdTxn(0.7, false);
  h.groupUpdateLag(0.04);
  const text = await cp.render();
  match(text, /daos_cp_etcd_txn_duration_seconds_count\{result="ok"\} 2/);
  match(text, /daos_cp_etcd_txn_duration_seconds_count\{result="error"\} 1/);
  match(text, /daos_cp_etcd_txn_duration_seconds_bucket\{le="0.0025",result="ok"\} 1/);
  match(text, /daos_cp_group_update_lag_seconds_count 1/);
  match(text, /daos_cp_group_update_lag_seconds_sum 0.04/);
});

Deno.test("EtcdClient.onTxn: a txn that fails (no etcd listening) is observed as an error", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close(); // a port nothing listens on
  const c = new EtcdClient([`127.0.0.1:${port}`], 200);
  const seen: [number, boolean][] = [];
  c.onTxn = (s, good) => seen.push([s, good]);
  try {
    let failed = false;
    await c.txn([], [{ put: "k", value: "v" }]).catch(() => failed = true);
    ok(failed);
    equal(seen.length, 1);
    equal(seen[0][1], false);
    ok(seen[0][0] > 0 && seen[0][0] < 10, `duration ${seen[0][0]}`);
  } finally {
    c.close();
  }
});
