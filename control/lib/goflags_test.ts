import { deepEqual, equal } from "node:assert/strict";
import { Command, CommanderError } from "commander";
import { editDistance, goFlagsParseError, orList, unknownCommandMessage } from "./goflags.ts";

Deno.test("go-flags lists and suggestions", () => {
  equal(orList([]), "");
  equal(orList(["a"]), "a");
  equal(orList(["a", "b", "c"]), "a, b or c");
  equal(editDistance("scna", "scan"), 2);
  equal(
    unknownCommandMessage(["prepare", "scan"], undefined),
    "Please specify one command of: prepare or scan",
  );
  // Suggested only when closer than half the longer word.
  equal(
    unknownCommandMessage(["prepare", "scan"], "sca"),
    "Unknown command `sca', did you mean `scan'?",
  );
  equal(
    unknownCommandMessage(["prepare", "scan"], "xyz"),
    "Unknown command `xyz'. Please specify one command of: prepare or scan",
  );
});

Deno.test("commander errors in go-flags words", () => {
  const msg = (code: string, text: string) =>
    goFlagsParseError(new CommanderError(1, code, text)).message;
  equal(
    msg("commander.unknownOption", "error: unknown option '--bogus=1'"),
    "unknown flag `bogus'",
  );
  equal(msg("commander.unknownOption", "error: unknown option '-q'"), "unknown flag `q'");
  equal(
    msg(
      "commander.optionMissingArgument",
      "error: option '-p, --provider <provider>' argument missing",
    ),
    "expected argument for flag `-p, --provider'",
  );
  equal(
    msg(
      "commander.invalidArgument",
      "error: option '-S, --ns <n>' argument 'x' is invalid. (expected uint): nope",
    ),
    "invalid argument for flag `-S, --ns' (expected uint): nope",
  );
  // A real commander parse, to keep the wording in step with commander's messages.
  const c = new Command("t").exitOverride().configureOutput({ writeErr: () => {} })
    .option("-p, --provider <p>");
  const caught: string[] = [];
  for (const args of [["--nope"], ["-p"]]) {
    try {
      c.parse(args, { from: "user" });
    } catch (e) {
      caught.push(goFlagsParseError(e as CommanderError).message);
    }
  }
  deepEqual(caught, ["unknown flag `nope'", "expected argument for flag `-p, --provider'"]);
});
