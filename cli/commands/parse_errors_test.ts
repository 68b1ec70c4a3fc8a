import { equal } from "node:assert/strict";
import { Command, CommanderError } from "commander";
import { missingRequiredFlags, parserError, unknownCommandError } from "./parse_errors.ts";

/** A quiet program with a `pool create` leaf: two required flags and a positional. */
function program(): { root: Command; create: Command } {
  const root = new Command("dmg").exitOverride().configureOutput({
    writeErr: () => {},
    outputError: () => {},
  });
  const pool = root.command("pool").exitOverride();
  const create = pool.command("create").exitOverride()
    .argument("<pool label>")
    .requiredOption("-s, --size <size>", "total size")
    .requiredOption("--nranks <n>", "number of ranks")
    .option("-u, --user <name>", "owner")
    .action(() => {});
  return { root, create };
}

async function parseError(args: string[]): Promise<CommanderError> {
  const { root } = program();
  try {
    await root.parseAsync(args, { from: "user" });
  } catch (e) {
    if (e instanceof CommanderError) return e;
    throw e;
  }
  throw new Error(`no parse error for ${args.join(" ")}`);
}

Deno.test("parserError: go-flags texts for commander's parse errors", async () => {
  const cases: [string[], string][] = [
    [["pool", "create", "p1", "-s", "1G", "--nranks", "1", "--bogus"], "unknown flag `bogus'"],
    [["pool", "create", "p1", "-s", "1G", "--nranks", "1", "-x"], "unknown flag `x'"],
    [["pool", "create", "p1", "--nranks", "1", "-s"], "expected argument for flag `-s, --size'"],
    [
      ["pool", "create", "-s", "1G", "--nranks", "1"],
      "the required argument `<pool label>` was not provided",
    ],
    [["pool", "create", "p1", "-s", "1G"], "the required flag `--nranks' was not specified"],
  ];
  for (const [args, want] of cases) {
    equal(parserError(await parseError(args)).message, want, args.join(" "));
  }
});

Deno.test("missingRequiredFlags: every missing required flag, go-flags list form", () => {
  const { create } = program();
  equal(
    missingRequiredFlags(create)?.message,
    "the required flags `-s, --size' and `--nranks' were not specified",
  );
  create.setOptionValue("size", "1G");
  equal(missingRequiredFlags(create)?.message, "the required flag `--nranks' was not specified");
  create.setOptionValue("nranks", "2");
  equal(missingRequiredFlags(create), undefined);
});

Deno.test("unknownCommandError: suggestion within half the length, else the list", () => {
  const { root } = program();
  root.command("system");
  root.command("storage");
  const at = (word?: string) => {
    root.args = word === undefined ? [] : [word];
    return unknownCommandError(root).message;
  };
  equal(at(), "Please specify one command of: pool, storage or system");
  equal(at("systme"), "Unknown command `systme', did you mean `system'?");
  equal(
    at("quack"),
    "Unknown command `quack'. Please specify one command of: pool, storage or system",
  );
});
