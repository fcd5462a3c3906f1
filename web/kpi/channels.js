// The online rate as measured (GET /stats `channels`): received applications per channel as each
// application recorded it, the measured online rate (all channels but the service window), and the
// applications from before channels were recorded apart, never guessed.

import { loc, t } from "../shared/i18n.js";
import { $, el, percent } from "../shared/ui.js";

const count = (n) => (n === null || n === undefined ? "—" : String(n));

function row(c) {
  const kind = c.online === null ? "kpi.channels.unrecorded.kind" : c.online ? "kpi.channels.online" : "kpi.channels.offline";
  return el(
    "tr",
    { dataset: { channel: c.channel } },
    el("th", { scope: "row" }, loc(c, "name")),
    el("td", {}, t(kind)),
    el("td", { class: "num", dataset: { figure: "received" } }, count(c.received)),
    el("td", { class: "num", dataset: { figure: "share" } }, percent(c.share)),
  );
}

/** Paint the channel table and the measured rate from a KPI report (hidden when it has none). */
export function renderChannels(report) {
  const section = $("channels-section");
  if (!section) return;
  const channels = report?.channels;
  section.hidden = !channels;
  if (!channels) return;
  $("channels-rate").textContent = t("kpi.channels.rate", {
    rate: percent(channels.online_rate),
    online: count(channels.online),
    recorded: count(channels.recorded),
  });
  $("channels-rate").dataset.kpi = "online_rate";
  $("channels-unrecorded").textContent = t("kpi.channels.unrecorded.line", { n: count(channels.unrecorded) });
  $("channels").tBodies[0].replaceChildren(...channels.by_channel.map(row));
}
