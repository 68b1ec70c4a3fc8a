/**
 * `hostlist`: fold 100k shuffled `nodeNNNNNN:10001` names into a host set and print it;
 * floor = sorting the same 100k strings (any de-duplicating, ordering fold does at least that).
 */
import { HostSet } from "../../../control/lib/hostlist.ts";
import { registerScenario } from "../scenario.ts";

const N = 100_000;
const names = Array.from({ length: N }, (_, i) => `node${String(i).padStart(6, "0")}:10001`);
// Deterministic shuffle so runs are comparable.
for (let i = names.length - 1; i > 0; i--) {
  const j = (i * 7919) % (i + 1);
  [names[i], names[j]] = [names[j], names[i]];
}

registerScenario({
  name: "hostlist",
  description: "fold 100k shuffled host names into a set and print it vs. sorting them",
  run: () => HostSet.fromHosts(names).toString(),
  floor: () => [...names].sort(),
});
