/**
 * `txtfmt`: render a 1024-row verbose system-query table; floor = joining the same cell
 * strings with single spaces (the work any table layout must at least do).
 */
import { formatTable } from "../../../control/lib/txtfmt.ts";
import { registerScenario } from "../scenario.ts";

const titles = ["Rank", "UUID", "Control Address", "Fault Domain", "State", "Reason"];
const rows = Array.from({ length: 1024 }, (_, i) => ({
  "Rank": String(i),
  "UUID": `00000000-0000-0000-0000-${i.toString(16).padStart(12, "0")}`,
  "Control Address": `10.0.${i >> 8}.${i & 255}:10001`,
  "Fault Domain": `/rack${i >> 5}/host${i}`,
  "State": i % 7 === 0 ? "Stopped" : "Joined",
  "Reason": i % 7 === 0 ? "system stop" : "",
}));
const cells = rows.map((r) => titles.map((t) => r[t as keyof typeof r]));

registerScenario({
  name: "txtfmt",
  description: "1024-row system query -v table vs. joining the same strings",
  run: () => formatTable(titles, rows),
  floor: () => cells.map((c) => c.join(" ")).join("\n"),
});
