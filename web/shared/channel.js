// The channel an application was made through (issue 18 item 3), as one fact line for the portal and
// the desk: the channel's name and, at the service window, the clerk who applied on the applicant's
// behalf. Applications from before channels were recorded say so.

import { loc, t } from "./i18n.js";
import { el } from "./ui.js";

/** [label, value] for a facts list. */
export function channelFact(app) {
  const name = app.channel_name ? loc(app.channel_name) : t("app.channel.unrecorded");
  const text = app.clerk ? t("app.channel.clerk", { channel: name, clerk: app.clerk }) : name;
  return [t("app.channel"), el("span", { id: "app-channel", dataset: { channel: app.channel || "unrecorded" } }, text)];
}
