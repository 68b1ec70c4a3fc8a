import assert from "node:assert/strict";
import {
  debugStreamsError,
  logMaskError,
  mergeLogSubsystems,
  subsystemsError,
} from "./log_masks.ts";

Deno.test("logMaskError accepts LEVEL[,SUBSYS=LEVEL] and rejects the rest", () => {
  for (const ok of ["ERR", "debug", "INFO,MGMT=DEBUG", "ERR,mgmt=dbug,BIO=fatal", "DBUG,vos=ERR"]) {
    assert.equal(logMaskError(ok), null, ok);
  }
  assert.match(logMaskError("LOUD")!, /unknown log level "LOUD"/);
  assert.match(logMaskError("ERR,MGMT")!, /entry 1 is "MGMT", want SUBSYS=LEVEL/);
  assert.match(logMaskError("ERR,MGMT=LOUD")!, /unknown log level "LOUD"/);
  assert.match(logMaskError("ERR,ALL=DEBUG")!, /'all' can not be used as a subsystem/);
  assert.match(logMaskError("ERR,NOPE=DEBUG")!, /unknown name "NOPE"/);
  assert.match(logMaskError("ERR;MGMT=DEBUG")!, /illegal characters/);
  assert.match(logMaskError("E".repeat(1024))!, /longer than 1023/);
});

Deno.test("DD_MASK and DD_SUBSYS names come from fixed lists; ALL only alone", () => {
  assert.equal(debugStreamsError("mgmt,io,trace"), null);
  assert.equal(debugStreamsError("all"), null);
  assert.match(debugStreamsError("mgmt,bogus")!, /DD_MASK debug streams: unknown name "bogus"/);
  assert.match(debugStreamsError("all,mgmt")!, /'all' can not be used with any other name/);
  assert.equal(subsystemsError("mgmt,bio,vos"), null);
  assert.match(subsystemsError("mgmt,io")!, /DD_SUBSYS subsystems: unknown name "io"/);
});

Deno.test("mergeLogSubsystems folds DD_SUBSYS into D_LOG_MASK", () => {
  // No subsystem list (or ALL): mask unchanged apart from canonical level names.
  assert.equal(mergeLogSubsystems("DEBUG,MGMT=INFO", ""), "DBUG,MGMT=INFO");
  assert.equal(mergeLogSubsystems("DEBUG", "all"), "DBUG");
  // Base below ERR: listed subsystems keep it, the rest go to ERR.
  assert.equal(mergeLogSubsystems("DEBUG", "MGMT,BIO"), "ERR,MGMT=DBUG,BIO=DBUG");
  // Explicit assignment of a listed subsystem wins; unlisted below-ERR assignments dropped.
  assert.equal(
    mergeLogSubsystems("INFO,MGMT=DEBUG,VOS=DEBUG,RDB=CRIT", "MGMT,BIO"),
    "ERR,MGMT=DBUG,RDB=CRIT,BIO=INFO",
  );
  // Base at ERR or above stays; an assignment equal to the base is dropped.
  // POOL has its own assignment (ERR), equal to the new base: dropped.
  assert.equal(mergeLogSubsystems("WARN,POOL=ERR", "POOL"), "ERR");
  assert.equal(mergeLogSubsystems("WARN", "POOL"), "ERR,POOL=WARN");
  assert.equal(mergeLogSubsystems("CRIT,POOL=DEBUG,VOS=INFO", "POOL"), "CRIT,POOL=DBUG");
  assert.equal(mergeLogSubsystems("", "POOL"), "");
});
