import { deepEqual as assertEquals, equal, match, ok } from "node:assert/strict";
import { checkServerConfigText } from "./load.ts";
import { type ConfigProblem, formatProblem } from "./problems.ts";
import { defaultMgmtSvcDbConfig } from "./mgmt_svc_db.ts";
import { etcdPortsFor } from "../mgmt/db_config.ts";

/** Problems of a discovery-mode config whose mgmt_svc_db section is `db` (YAML lines). */
function check(db: string) {
  return checkServerConfigText(`name: daos_server\nmgmt_svc_db:\n${db}`, "s.yml");
}

/** The single problem of `db`, formatted as `file:line:col: message`. */
function only(db: string): ConfigProblem {
  const r = check(db);
  equal(r.problems.length, 1, JSON.stringify(r.problems));
  return r.problems[0];
}

Deno.test("mgmt_svc_db: parsed once by the loader, defaults and overrides", () => {
  assertEquals(
    checkServerConfigText("name: daos_server\n", "s.yml").config!.mgmtSvcDb,
    defaultMgmtSvcDbConfig(),
  );
  const r = check(
    '  client_port: 3379\n  ports:\n    "10.0.0.2:10001": {client: 4379, peer: 4380}\n' +
      "  lease_ttl_s: 1\n  probe_interval_ms: 0.5\n  data_dir: /var/db\n" +
      "  endpoints: [http://10.0.0.1:2379]\n",
  );
  assertEquals(r.problems, []);
  const c = r.config!.mgmtSvcDb;
  assertEquals([c.clientPort, c.peerPort, c.leaseTtlS, c.electionTimeoutMs], [3379, 2380, 1, 500]);
  assertEquals([c.probeIntervalMs, c.dataDir, c.endpoints], [0.5, "/var/db", [
    "http://10.0.0.1:2379",
  ]]);
  assertEquals(etcdPortsFor(c, "10.0.0.2:10001"), { client: 4379, peer: 4380 });
  assertEquals(etcdPortsFor(c, "10.0.0.1:10001"), { client: 3379, peer: 2380 });
});

Deno.test("mgmt_svc_db: errors name the key, its file:line:col and the fix", () => {
  const unknown = only("  client_port: 2379\n  bogus: 1\n");
  equal(formatProblem(unknown).split(": ")[0], "s.yml:4:3");
  match(unknown.message, /unknown key "mgmt_svc_db.bogus"/);
  match(unknown.resolution, /mgmt_svc_db knows endpoints, client_port, .*etcd_binary/);

  const peer = only("  peer_port: 70000\n");
  match(formatProblem(peer), /^s\.yml:3:14: mgmt_svc_db\.peer_port: 70000 is not a port/);
  match(peer.resolution, /between 1 and 65535/);

  const ep = only("  endpoints: [http://a:1, 10.0.0.1:2379]\n");
  match(
    formatProblem(ep),
    /^s\.yml:3:27: mgmt_svc_db\.endpoints: must be a list of etcd client URLs.* entry 1 is "10\.0\.0\.1:2379"/,
  );

  const ttl = only("  lease_ttl_s: 0\n");
  match(formatProblem(ttl), /^s\.yml:3:16: mgmt_svc_db\.lease_ttl_s: 0 must be a positive number/);
  match(only("  call_timeout_ms: fast\n").message, /call_timeout_ms: "fast" must be a positive/);

  const port = only('  ports:\n    "10.0.0.2:10001": {client: 4379}\n');
  match(
    formatProblem(port),
    /^s\.yml:4:23: mgmt_svc_db\.ports\."10\.0\.0\.2:10001"\.peer: missing/,
  );
  match(
    only('  ports:\n    "h:1": {client: 0, peer: 1}\n').message,
    /"h:1"\.client: 0 is not a port/,
  );
  match(only('  ports:\n    "h:1": 5\n').message, /ports\."h:1": expected a map/);

  match(only("  data_dir: 5\n").message, /mgmt_svc_db\.data_dir: must be a non-empty path, got 5/);
  match(only('  etcd_binary: ""\n').message, /mgmt_svc_db\.etcd_binary: must be a non-empty path/);
  const unset = check('  data_dir: ""\n');
  assertEquals([unset.problems, unset.config!.mgmtSvcDb.dataDir], [[], ""], '"" = derived');
  match(only("  etcd_binary: [x]\n").message, /mgmt_svc_db\.etcd_binary: must be a non-empty path/);
  match(only('  data_dir: "/a\\nb"\n').message, /data_dir: path .* contains the control character/);

  const notMap = checkServerConfigText("mgmt_svc_db: [1]\n", "s.yml").problems;
  equal(notMap.length, 1);
  match(formatProblem(notMap[0]), /^s\.yml:1:14: mgmt_svc_db: expected a map, got a list/);
  // Every problem is reported, not only the first.
  equal(check("  peer_port: 0\n  client_port: x\n  bogus: 1\n").problems.length, 3);
  ok(check("  peer_port: 0\n").config !== null, "the config is still returned for validate");
});

Deno.test("mgmt_svc_db: the RAS and audit log bounds are whole entry counts", () => {
  const d = defaultMgmtSvcDbConfig();
  assertEquals([d.rasLogSize, d.auditLogSize], [10000, 10000]);
  const r = check("  ras_log_size: 50\n  audit_log_size: 1\n");
  assertEquals(r.problems, []);
  assertEquals([r.config!.mgmtSvcDb.rasLogSize, r.config!.mgmtSvcDb.auditLogSize], [50, 1]);
  for (const bad of ["0", "2.5", "-1", "many", "20000000"]) {
    const p = only(`  ras_log_size: ${bad}\n`);
    match(formatProblem(p), /^s\.yml:3:17: mgmt_svc_db\.ras_log_size: .* must be a whole number/);
    match(p.resolution, /number of entries to keep/);
  }
  match(only("  audit_log_size: 0\n").message, /audit_log_size: 0 must be a whole number/);
});
