// The desk's link to the catalogue editor, shown to admins only (the API refuses everyone else: 403).

import { session } from "../shared/auth.js";
import { $ } from "../shared/ui.js";

function paint() {
  const item = $("nav-catalogue-item");
  if (item) item.hidden = !session()?.groups.includes("admin");
}

paint();
// Signing in happens on the page itself: look again once the desk has started.
new MutationObserver(paint).observe($("app-root"), { attributes: true, attributeFilter: ["hidden"] });
