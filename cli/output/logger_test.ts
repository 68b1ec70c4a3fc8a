import {
  deepEqual as assertEquals,
  ok as assert,
  throws as assertThrows,
} from "node:assert/strict";
import { Logger, MemorySink } from "./logger.ts";

function setup(opts: { jsonOutput?: boolean; debug?: boolean } = {}) {
  const out = new MemorySink();
  const err = new MemorySink();
  const log = new Logger({ stdout: out, stderr: err, ...opts });
  return { out, err, log };
}

Deno.test("INFO to stdout without prefix; newline only if missing", () => {
  const { out, err, log } = setup();
  log.info("table\n\n");
  log.info("line");
  assertEquals(out.text, "table\n\nline\n");
  assertEquals(err.text, "");
});

Deno.test("ERROR/NOTICE prefix once per call on stderr", () => {
  const { out, err, log } = setup();
  log.error("Errors:\n  Hosts Error \n  ----- ----- \n\n");
  log.notice("low ratio");
  assertEquals(out.text, "");
  assertEquals(err.text, "ERROR: Errors:\n  Hosts Error \n  ----- ----- \n\nNOTICE: low ratio\n");
});

Deno.test("JSON mode drops INFO; errors still go to stderr", () => {
  const { out, err, log } = setup({ jsonOutput: true });
  log.info("hidden");
  log.error("dmg: boom");
  assertEquals(out.text, "");
  assertEquals(err.text, "ERROR: dmg: boom\n");
});

Deno.test("DEBUG only with -d", () => {
  const quiet = setup();
  quiet.log.debug("x");
  assertEquals(quiet.err.text, "");
  const loud = setup({ debug: true });
  loud.log.debug("x");
  assert(/^DEBUG .* x\n$/.test(loud.err.text));
});

Deno.test("--log-file appends every level with timestamps; -J makes JSON lines", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const path = `${dir}/dmg.log`;
    const now = () => new Date(2026, 0, 2, 3, 4, 5, 6);
    const log = new Logger({
      stdout: new MemorySink(),
      stderr: new MemorySink(),
      logFile: path,
      now,
    });
    log.info("hello");
    log.error("bad");
    log.close();
    assertEquals(
      Deno.readTextFileSync(path),
      "INFO 2026/01/02 03:04:05.006000 hello\nERROR 2026/01/02 03:04:05.006000 bad\n",
    );
    const j = new Logger({
      stdout: new MemorySink(),
      stderr: new MemorySink(),
      logFile: path,
      jsonLogging: true,
      now,
    });
    j.notice("n\n");
    j.close();
    const last = Deno.readTextFileSync(path).trimEnd().split("\n").pop() ?? "";
    assertEquals(JSON.parse(last).level, "notice");
    assertEquals(JSON.parse(last).message, "n");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("unwritable log file: error names the path and the flag", () => {
  assertThrows(
    () => new Logger({ logFile: "/nonexistent-dir/x.log" }),
    /cannot open log file "\/nonexistent-dir\/x.log".*--log-file/,
  );
});
