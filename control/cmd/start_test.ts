import { deepEqual, equal, throws } from "node:assert/strict";
import { checkServerConfigText } from "../config/load.ts";
import { applyStartOverrides, startLogger } from "./start.ts";
import { CmdContext, CmdLogger, type GlobalOptions, loggerSyslog } from "./context.ts";
import { fakeHost, MemorySyslog } from "./testing.ts";

const TEXT = "name: daos_server\nprovider: ofi+tcp\nengines:\n- targets: 4\n  nr_xs_helpers: 1\n" +
  "  fabric_iface: eth0\n  fabric_iface_port: 31416\n  log_file: /tmp/e0.log\n  storage:\n" +
  "  - class: ram\n    scm_mount: /mnt/daos0\n";

function config() {
  const { config, problems } = checkServerConfigText(TEXT, "s.yml");
  deepEqual(problems, []);
  return config!;
}

Deno.test("start overrides: port, group, socket dir, targets, helpers, first core, storage", () => {
  const cfg = config();
  const notices: string[] = [];
  applyStartOverrides(cfg, {
    port: "10002",
    group: "daos2",
    socket_dir: "/run/d2",
    targets: 8,
    xshelpernr: 0,
    firstcore: 2,
    storage: "/mnt/other",
    insecure: true,
  }, (m) => notices.push(m));
  deepEqual(
    [
      cfg.port,
      cfg.name,
      cfg.engines[0].systemName,
      cfg.socketDir,
      cfg.transportConfig.allowInsecure,
    ],
    [10002, "daos2", "daos2", "/run/d2", true],
  );
  const e = cfg.engines[0];
  deepEqual([e.targets, e.nrXsHelpers, e.firstCore, e.scm!.scmMount], [8, 0, 2, "/mnt/other"]);
  deepEqual(notices, [
    "-s/--storage is deprecated: set scm_mount of engine 0's first tier instead",
  ]);
  // -t 0 / -f 0 leave the config alone (the reference applies only values > 0).
  const same = config();
  applyStartOverrides(same, { targets: 0, firstcore: 0 }, () => {});
  deepEqual([same.engines[0].targets, same.engines[0].firstCore], [
    4,
    config().engines[0].firstCore,
  ]);
  throws(
    () => applyStartOverrides(config(), { port: "70000" }, () => {}),
    /invalid --port "70000"/,
  );
  throws(() => applyStartOverrides(config(), { group: "a b" }, () => {}), /invalid --group "a b"/);
});

Deno.test("--syslog sink: INFO/NOTICE/ERROR lines with their level reach the logger command", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dsrv-syslog-" });
  try {
    const sink = loggerSyslog(["sh", "-c", `cat > ${dir}/out`]);
    sink.write("info", "Scanning...\ntable\n");
    sink.write("error", "boom");
    await sink.close();
    equal(await Deno.readTextFile(`${dir}/out`), "INFO: Scanning...\nINFO: table\nERROR: boom\n");
    throws(
      () => loggerSyslog(["/nonexistent/logger"]),
      /--syslog: cannot run \/nonexistent\/logger/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("start's control log: -b raises it to DEBUG, -J makes it JSON lines, --syslog copies", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dsrv-startlog-" });
  try {
    const cfg = config();
    cfg.controlLogMask = "INFO";
    cfg.controlLogFile = `${dir}/plain.log`;
    const ctx = (globals: GlobalOptions, sys = new MemorySyslog()) =>
      new CmdContext(globals, new CmdLogger({ out: () => {}, err: () => {} }, {}), {
        out: () => {},
        err: () => {},
      }, fakeHost({ syslog: () => sys }));
    const plain = startLogger(cfg, ctx({}));
    plain.debug("hidden");
    plain.info("shown");
    plain.close();
    const lines = (await Deno.readTextFile(`${dir}/plain.log`)).trim().split("\n");
    deepEqual(lines.map((l) => l.replace(/ \S+Z /, " T ")), ["INFO T shown"]);

    cfg.controlLogFile = `${dir}/debug.log`;
    const sys = new MemorySyslog();
    const dbg = startLogger(cfg, ctx({ debug: true, jsonLogging: true, syslog: true }, sys));
    dbg.debug("now shown");
    dbg.notice("note");
    dbg.close();
    const recs = (await Deno.readTextFile(`${dir}/debug.log`)).trim().split("\n").map((l) =>
      JSON.parse(l)
    );
    deepEqual(recs.map((r) => [r.level, r.msg]), [["debug", "now shown"], ["notice", "note"]]);
    deepEqual(sys.lines, ["notice: note"], "debug never goes to syslog");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
