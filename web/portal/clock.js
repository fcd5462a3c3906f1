// The applicant sees the decision clock of an accepted application (GET /applications/{id}/clock):
// "paused since …, reason …" while a correction or a special procedure holds it, "extended by N
// working days: reason", each pause given back, and the due date as it now stands.

import { api } from "../shared/api.js";
import { loc, t } from "../shared/i18n.js";
import { el, formatDateTime } from "../shared/ui.js";

/** Fill `box` with the clock of `app` (empty while no decision clock runs). */
export async function renderClock(app, box) {
  if (!box) return;
  if (!app.deadline) {
    box.replaceChildren();
    box.hidden = true;
    return;
  }
  const clock = await api(`/applications/${app.id}/clock`).catch(() => null);
  if (!clock) return; // the page keeps what it showed; the next refresh tries again
  box.hidden = false;
  box.dataset.paused = String(clock.paused);
  box.replaceChildren(
    el("h3", { id: "clock-title" }, t("clock.title")),
    el(
      "p",
      { id: "clock-state", class: clock.paused ? "notice" : "meta" },
      clock.paused ? t("clock.paused") : t("clock.running"),
    ),
    el(
      "ul",
      { id: "clock-summary" },
      clock.summary.map((line) => el("li", {}, loc(line))),
    ),
    clock.deadline
      ? el(
          "p",
          { id: "clock-due", dataset: { due: clock.deadline.due } },
          t("clock.due", { due: formatDateTime(clock.deadline.due), n: clock.deadline.working_days }),
        )
      : null,
  );
}
