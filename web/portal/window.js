// Applications a service window opened on the applicant's behalf (issue 18 item 3): the clerk at the
// counter owns and handles them; the applicant follows them here, for every party the account's
// verified claims bind it to (custom:uscc, custom:id_number), through GET /applications/window.

import { api } from "../shared/api.js";
import { claims, currentToken } from "../shared/auth.js";
import { loc, t } from "../shared/i18n.js";
import { $, el, formatDateTime, statusBadge } from "../shared/ui.js";

/** The parties the signed-in account acts for, as its token says (the API checks them again). */
function parties() {
  const token = currentToken();
  const c = (token && claims(token)) || {};
  const codes = String(c["custom:uscc"] || "").split(/[\s,]+/);
  return [...codes, c["custom:id_number"] || ""].map((s) => s.trim()).filter(Boolean);
}

let shown = []; // the last fetched applications, redrawn when the language changes

/** Fill the "applied for at the window" panel; hidden when there is nothing to follow. */
export async function loadWindowApps() {
  const panel = $("window-apps-panel");
  if (!panel) return;
  const found = [];
  for (const party of parties()) {
    try {
      const page = await api("/applications/window", { query: { party, limit: 20 } });
      found.push(...page.items);
    } catch {
      // A party the API no longer binds to this account (a binding withdrawn): nothing to follow there.
    }
  }
  found.sort((a, b) => (a.created_at < b.created_at ? 1 : -1));
  shown = found;
  render();
}

function render() {
  const panel = $("window-apps-panel");
  if (!panel) return;
  panel.hidden = !shown.length;
  $("window-apps").replaceChildren(
    ...shown.map((a) =>
      el(
        "li",
        { dataset: { id: a.id } },
        el("a", { href: `#app=${a.id}` }, loc(a.item_name)),
        el(
          "p",
          { class: "meta" },
          statusBadge(a.status),
          " ",
          a.applicant.name,
          " · ",
          t("portal.window.by", { clerk: a.clerk || "" }),
          " · ",
          formatDateTime(a.created_at),
        ),
      ),
    ),
  );
}

document.addEventListener("langchange", render);
