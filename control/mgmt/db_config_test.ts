import { deepEqual as assertEquals, throws } from "node:assert/strict";
import { defaultMgmtSvcDbConfig, mgmtDbDir } from "./db_config.ts";
import { etcdArgs, etcdEndpoints, etcdMemberName } from "./etcd_member.ts";

Deno.test("mgmt_svc_db: data dir follows control metadata, then engine 0 SCM", () => {
  const d = defaultMgmtSvcDbConfig();
  assertEquals(
    mgmtDbDir(d, { controlMetadataPath: "/md", engine0ScmMount: "/mnt/daos0" }),
    "/md/daos_control/mgmt_db",
  );
  assertEquals(mgmtDbDir(d, { engine0ScmMount: "/mnt/daos0" }), "/mnt/daos0/mgmt_db");
  throws(() => mgmtDbDir(d, {}), /no place for the MS database/);
  assertEquals(mgmtDbDir({ ...d, dataDir: "/x" }, {}), "/x");
});

Deno.test("etcd member command line: peers are the replicas, fast elections", () => {
  const db = defaultMgmtSvcDbConfig();
  const replicas = ["10.0.0.1:10001", "10.0.0.2:10001", "10.0.0.3:10001"];
  const args = etcdArgs({ self: replicas[1], replicas, system: "daos_server", dataDir: "/d", db });
  const opt = (k: string) => args[args.indexOf(k) + 1];
  assertEquals(opt("--name"), etcdMemberName(replicas[1]));
  assertEquals(opt("--listen-client-urls"), "http://10.0.0.2:2379");
  assertEquals(
    opt("--initial-cluster"),
    "ms-10.0.0.1-10001=http://10.0.0.1:2380,ms-10.0.0.2-10001=http://10.0.0.2:2380,ms-10.0.0.3-10001=http://10.0.0.3:2380",
  );
  assertEquals([opt("--election-timeout"), opt("--heartbeat-interval")], ["500", "50"]);
  assertEquals(etcdEndpoints(db, replicas[1]), ["http://10.0.0.2:2379"]);
  assertEquals(etcdEndpoints({ ...db, endpoints: ["http://e:1"] }, replicas[1]), ["http://e:1"]);
});
