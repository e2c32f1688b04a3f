// Sends usage to Kizuna with Segment's official Node SDK (@segment/analytics-node), unchanged but
// for its host: identify, group, track, page and alias through the SDK's own batching, then
// flushes. Exits non-zero if the SDK reported an error.
//
// Environment: KIZUNA_URL (the server), KIZUNA_WRITE_KEY (a write-scope API token).

import { Analytics } from "@segment/analytics-node";

const errors = [];
const analytics = new Analytics({
  writeKey: process.env.KIZUNA_WRITE_KEY,
  host: process.env.KIZUNA_URL,
  maxRetries: 1,
  flushInterval: 200,
});
analytics.on("error", (e) => errors.push(String(e?.reason ?? e?.message ?? e?.code ?? JSON.stringify(e))));

analytics.identify({ userId: "node-user-1", traits: { email: "ken@node.example", name: "Ken Mori" } });
analytics.group({ userId: "node-user-1", groupId: "node-acct-1", traits: { name: "Node KK", employees: 7 } });
for (let n = 0; n < 12; n++) {
  analytics.track({ userId: "node-user-1", event: "Dashboard Viewed", properties: { n }, context: { groupId: "node-acct-1" } });
}
analytics.page({ userId: "node-user-1", name: "Pricing", properties: { path: "/pricing" }, context: { groupId: "node-acct-1" } });
analytics.alias({ userId: "node-user-1", previousId: "node-anon-3" });
await analytics.closeAndFlush({ timeout: 10000 });

if (errors.length) {
  console.error("SDK errors: " + errors.join("; "));
  process.exit(1);
}
console.log("sent");
