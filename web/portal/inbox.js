// The in-portal inbox (issue 18 item 2): every notice sent about the applicant's applications —
// material refused or to check, correction asked (the one-time notice), accepted with its deadline,
// decided, licence issued or its status changed, invitation to rate — newest first, page by page,
// each marked read when opened; and the notification preferences (SMS, e-mail, language). The desk
// shows the same module to the bureau's staff, whose inbox holds the escalations sent to admins.

import { api } from "../shared/api.js";
import { guarded } from "../shared/errors.js";
import { applyStatic, lang, loc, t } from "../shared/i18n.js";
import { $, announce, el, formatDateTime } from "../shared/ui.js";

const PAGE = 10;
const state = { items: [], cursor: null, unread: 0, prefs: null, started: false, open: new Set() };

function panel() {
  return $("inbox-panel");
}

/** Load the first page and the preferences; called once the applicant is signed in. */
export async function startInbox() {
  if (state.started || !panel()) return;
  state.started = true;
  panel().hidden = false;
  render();
  document.addEventListener("langchange", render);
  // Back on the view that shows the inbox (the portal's home, the desk's queue): fetch what is new.
  window.addEventListener("hashchange", () => {
    if (!panel().closest("[hidden]")) load();
  });
  await Promise.all([load(), loadPrefs()]);
}

async function load({ more = false } = {}) {
  const query = { limit: PAGE, ...(more && state.cursor ? { cursor: state.cursor } : {}) };
  const page = await guarded($("inbox-error"), () => api("/me/inbox", { query }), { focus: false });
  if (!page) return;
  state.items = more ? [...state.items, ...page.items] : page.items;
  state.cursor = page.next_cursor || null;
  state.unread = page.unread; // the whole inbox's, not only the pages shown
  render();
}

async function loadPrefs() {
  state.prefs = await guarded($("inbox-error"), () => api("/me/notification-preferences"), { focus: false });
  render();
}

async function markRead(item) {
  if (item.read) return;
  const updated = await guarded($("inbox-error"), () => api(`/me/inbox/${item.id}/read`, { method: "POST" }), {
    focus: false,
  });
  if (!updated) return;
  state.items = state.items.map((i) => (i.id === updated.id ? updated : i));
  state.unread = Math.max(0, state.unread - 1);
  render();
}

async function savePrefs(form) {
  const channels = ["sms", "email"].filter((c) => form.elements[`pref-${c}`].checked);
  const body = { channels, language: form.elements["pref-language"].value };
  const saved = await guarded($("inbox-error"), () =>
    api("/me/notification-preferences", { method: "PUT", body }),
  );
  if (!saved) return;
  state.prefs = saved;
  render();
  announce(t("inbox.prefs.saved"));
}

function entry(item) {
  const shown = state.open.has(item.id); // kept across re-renders (mark read, language switch)
  const body = el("pre", { class: "inbox-body", hidden: !shown }, loc(item.body));
  const toggle = el("button", { type: "button", class: "link", "aria-expanded": String(shown) }, loc(item.title));
  toggle.addEventListener("click", () => {
    body.hidden = !body.hidden;
    toggle.setAttribute("aria-expanded", String(!body.hidden));
    if (body.hidden) state.open.delete(item.id);
    else {
      state.open.add(item.id);
      markRead(item);
    }
  });
  const link = item.application_id
    ? el("a", { href: `#app=${item.application_id}`, class: "inbox-open" }, t("inbox.open"))
    : null;
  return el(
    "li",
    { dataset: { id: item.id, kind: item.kind, read: String(item.read) }, class: item.read ? "read" : "unread" },
    el("p", {}, item.read ? "" : el("strong", { class: "inbox-new" }, `${t("inbox.new")} `), toggle),
    el("p", { class: "meta" }, formatDateTime(item.created_at), link ? " · " : "", link),
    body,
  );
}

function prefsForm() {
  const prefs = state.prefs || { channels: [], language: "both" };
  const check = (channel) =>
    el(
      "label",
      { class: "choice" },
      el("input", { type: "checkbox", name: `pref-${channel}`, checked: prefs.channels.includes(channel) }),
      " ",
      el("span", { "data-i18n": `inbox.prefs.${channel}` }),
    );
  const language = el(
    "select",
    { id: "pref-language", name: "pref-language" },
    ["both", "zh", "en"].map((code) =>
      el("option", { value: code, selected: prefs.language === code, "data-i18n": `inbox.prefs.lang.${code}` }),
    ),
  );
  const form = el(
    "form",
    { id: "prefs-form", novalidate: true },
    el(
      "fieldset",
      {},
      el("legend", { "data-i18n": "inbox.prefs" }),
      el("p", { class: "hint", "data-i18n": "inbox.prefs.hint" }),
      check("sms"),
      check("email"),
      el("label", { for: "pref-language", "data-i18n": "inbox.prefs.language" }),
      language,
      el("div", { class: "actions" }, el("button", { type: "submit", "data-i18n": "inbox.prefs.save" })),
    ),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    savePrefs(form);
  });
  applyStatic(form);
  return form;
}

function render() {
  const root = panel();
  if (!root) return;
  const unread = state.unread;
  const list = el("ul", { id: "inbox-list", class: "cards" });
  list.replaceChildren(...(state.items.length ? state.items.map(entry) : [el("li", {}, t("inbox.none"))]));
  const more = el("button", { type: "button", id: "inbox-more", class: "secondary", hidden: !state.cursor }, t("more"));
  more.addEventListener("click", () => load({ more: true }));
  const refresh = el("button", { type: "button", id: "inbox-refresh", class: "secondary" }, t("inbox.refresh"));
  refresh.addEventListener("click", () => load());
  const open = $("prefs")?.open ?? false; // a language switch or a new page keeps it as it was
  root.replaceChildren(
    el("h2", { id: "inbox-title" }, t("inbox.title")),
    el("p", { id: "inbox-count", class: "meta", "aria-live": "polite" }, t("inbox.unread", { n: unread })),
    el("div", { id: "inbox-error", class: "error", role: "alert", tabindex: "-1", hidden: true }),
    list,
    el("p", {}, more, " ", refresh),
    el("details", { id: "prefs", open }, el("summary", {}, t("inbox.prefs")), prefsForm()),
  );
  root.lang = lang() === "zh" ? "zh-CN" : "en";
}
