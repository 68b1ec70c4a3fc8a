import assert from "node:assert/strict";
import { demoLine, displayPath, dmgLine, usageBlock } from "./hints.ts";

const top = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

Deno.test("hints: relative inside the checkout, absolute elsewhere, quoted when needed", () => {
  assert.equal(displayPath(`${top}/bin/dmg`, top), "bin/dmg");
  assert.equal(displayPath(`${top}/bin/dmg`, "/"), `${top}/bin/dmg`);
  assert.equal(
    dmgLine("/tmp/daos-demo/daos_control.yml", ["system", "query", "-v"], top),
    "bin/dmg -o /tmp/daos-demo/daos_control.yml system query -v",
  );
  assert.equal(dmgLine("/tmp/my dir/c.yml", ["x"], top), "bin/dmg -o '/tmp/my dir/c.yml' x");
  assert.equal(demoLine("down", "/tmp/daos-demo", top), "./scripts/demo down");
  assert.equal(demoLine("down", "/srv/d", "/"), `${top}/scripts/demo down --state-dir /srv/d`);
  const block = usageBlock("/tmp/daos-demo/daos_control.yml", "/tmp/daos-demo", top);
  assert.doesNotMatch(block, /metrics/);
  const withMetrics = usageBlock("/tmp/daos-demo/daos_control.yml", "/tmp/daos-demo", top, 9191);
  assert.match(withMetrics, /bin\/dmg -o \S+ telemetry metrics list -p 9191/);
  assert.match(withMetrics, /curl -s http:\/\/127\.0\.0\.1:9191\/metrics/);
  assert.match(block, /bin\/dmg -o \/tmp\/daos-demo\/daos_control.yml system query -v/);
  assert.match(block, /bin\/dmg -o \S+ pool query tank\n.*bin\/dmg -o \S+ pool destroy tank/);
  assert.match(block, /\.\/scripts\/demo down$/);
});
