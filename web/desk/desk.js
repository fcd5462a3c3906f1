// Reviewer desk: the queue by deadline (at-risk and overdue marked), one application's materials side
// by side with what was read from them, the decision with reasons, and the licence's lifecycle; and the
// rectification cases bad ratings open (核实 → 整改 → 反馈), earliest deadline first.
// Views follow the URL fragment: "" or #queue (queue), #app=<id>, #cases and #case=<id>.

import { channelFact } from "../shared/channel.js";
import { api } from "../shared/api.js";
import { clearError, guarded, showError } from "../shared/errors.js";
import { lang, loc, t } from "../shared/i18n.js";
import { auditList, materialCard, materialName, renewFrom } from "../shared/materials.js";
import { startPage } from "../shared/page.js";
import {
  $, announce, badge, el, facts, formatDate, formatDateTime, poller, renewable, showView, statusBadge,
} from "../shared/ui.js";
import { renderClock } from "./clock.js";
import { startInbox } from "../portal/inbox.js";
import { reviewPanel, typesFor } from "./corrections.js";
import { assignmentQuery, initAssignment, ownerCell, renderAssignment } from "./assignment.js";

const VIEWS = ["queue-view", "case-view", "cases-view", "rcase-view"];
const DECISIONS = ["accept", "request_correction", "approve", "reject"];
const BUTTON_STYLE = { reject: "danger", request_correction: "secondary" };

const state = {
  queue: [], queueCursor: null, app: null, licence: null, poll: null,
  cases: [], casesCursor: null, rcase: null, items: new Map(),
};
const QUEUE_PAGE = 100;
const CASES_PAGE = 50;

function route({ focus = true } = {}) {
  state.poll?.stop();
  state.poll = null;
  const params = new URLSearchParams(window.location.hash.slice(1));
  const id = params.get("app");
  const caseId = params.get("case");
  if (id) openCase(id, focus);
  else if (caseId) openRectification(caseId, focus);
  else if (params.has("cases")) openCases(focus);
  else openQueue(focus);
}

/** The desk's own navigation marks where the reviewer is (an application counts as the queue). */
function markNav(view) {
  const section = view === "rcase-view" ? "cases-view" : view === "case-view" ? "queue-view" : view;
  for (const link of document.querySelectorAll("#desk-nav a")) {
    if (link.dataset.view === section) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

function show(view, focus) {
  markNav(view);
  showView(VIEWS, view, { focus });
}

// ------------------------------------------------------------------ queue
async function openQueue(focus) {
  show("queue-view", focus);
  await loadQueue();
}

/** The queue's first page for the filters, or with `more` the next page after the rows shown. */
async function loadQueue({ more = false } = {}) {
  const query = { status: $("queue-status").value, at_risk: $("queue-at-risk").checked ? "true" : "", limit: QUEUE_PAGE, ...assignmentQuery() };
  if (more && state.queueCursor) query.cursor = state.queueCursor;
  const page = await guarded($("error"), () => api("/review/queue", { query }));
  if (!page) return;
  const shown = more ? state.queue.length : 0;
  state.queue = more ? [...state.queue, ...page.items] : page.items;
  for (const entry of page.items) state.items.set(entry.item_code, entry.item_name);
  state.queueCursor = page.next_cursor || null;
  renderQueue();
  if (more) $("queue").querySelectorAll("tbody a.open")[shown]?.focus();
}

function dueOf(entry) {
  return entry.due || entry.deadline?.due || entry.acceptance_due?.due || null;
}

function renderQueue() {
  const count = state.queue.length;
  $("queue-more").hidden = !state.queueCursor;
  const counted = state.queueCursor ? "desk.queue.count.more" : "desk.queue.count";
  $("queue-count").textContent = count ? t(counted, { n: count }) : t("desk.queue.none");
  $("queue").tBodies[0].replaceChildren(
    ...state.queue.map((entry) => {
      const item = loc(entry.item_name);
      const flags = [];
      const label = t("desk.open.label", { item, applicant: entry.applicant.name });
      if (entry.overdue) flags.push(badge("overdue", t("desk.overdue")));
      else if (entry.at_risk) flags.push(badge("atrisk", t("desk.atrisk")));
      return el(
        "tr",
        {
          dataset: { id: entry.id, status: entry.status, due: dueOf(entry) || "" },
          class: entry.overdue ? "overdue" : entry.at_risk ? "at-risk" : "",
        },
        el("td", {}, dueOf(entry) ? formatDateTime(dueOf(entry)) : "—"),
        el("th", { scope: "row" }, item),
        el("td", {}, entry.applicant.name, el("br"), el("span", { class: "meta" }, entry.applicant.code)),
        el("td", {}, statusBadge(entry.status)),
        el("td", {}, flags),
        ownerCell(entry, { done: () => loadQueue() }),
        el("td", {}, el("a", { href: `#app=${entry.id}`, class: "open", "aria-label": label }, t("desk.open"))),
      );
    }),
  );
}

// ------------------------------------------------------------------ one application
async function openCase(id, focus) {
  const app = await guarded($("error"), () => api(`/applications/${id}`));
  if (!app) return;
  if (state.app?.id !== id) state.licence = null;
  state.app = app;
  clearError($("decision-error"));
  clearError($("lifecycle-error"));
  $("decision-form").reset();
  await renderCase();
  show("case-view", focus);
  watch();
}

/** Poll while something is on its way: a file still processing, or the licence after approval. */
function watch() {
  const processing = (app) => app.materials.some((m) => m.status === "processing" || m.status === "awaiting_upload");
  const waiting = (app) => processing(app) || (app.status === "approved" && !app.licence_id);
  if (state.poll || !waiting(state.app)) return;
  state.poll = poller(async () => {
    const fresh = await api(`/applications/${state.app.id}`).catch(() => null);
    if (!fresh || $("case-view").hidden) return;
    state.app = fresh;
    await renderCase();
    if (!waiting(fresh)) {
      state.poll?.stop();
      state.poll = null;
    }
  }, 1500);
}

async function renderCase() {
  const app = state.app;
  const due = app.deadline || app.acceptance_due;
  $("case-title").textContent = t("desk.app", { item: loc(app.item_name) });
  $("case-facts").replaceChildren(
    facts([
      [t("desk.col.status"), el("span", { id: "case-status", dataset: { status: app.status } }, statusBadge(app.status))],
      [t("portal.app.id"), app.id],
      [t("desk.col.applicant"), `${app.applicant.name}（${app.applicant.code}）`],
      channelFact(app),
      [t("portal.app.submitted"), formatDateTime(app.submitted_at)],
      [
        app.deadline ? t("portal.app.deadline") : t("portal.app.acceptance.due"),
        due ? `${formatDateTime(due.due)}（${t("days", { n: due.working_days })}）` : "",
      ],
      [t("desk.version"), String(app.version)],
    ]),
  );
  const renew = renewFrom(api, app.id);
  const types = await typesFor(app);
  $("case-materials").replaceChildren(
    ...app.materials.map((m) => {
      const card = materialCard(m, { heading: loc(m.slot_name) || m.slot, renew });
      // Check the reading against the page image and correct a value or the type, with a reason.
      const panel = reviewPanel(app, m, { name: materialName(m), types, done: () => reload() });
      if (panel) card.append(panel);
      return card;
    }),
  );
  await renderAssignment(app, { done: () => reload() }); // who holds it: claim, release, reassign
  renderChecks(app);
  await renderClock(app, $("case-clock"), { done: () => reload() }); // pauses, the one extension
  renderDecisions(app);
  $("case-audit").replaceChildren(...auditList(app.audit_trail));
  await renderLicence(app);
}

function renderChecks(app) {
  const issues = [...app.open_issues];
  for (const m of app.materials) for (const p of m.problems || []) issues.push({ ...p, slot: loc(m.slot_name) || m.slot });
  $("case-checks").replaceChildren(
    issues.length
      ? el("ul", { id: "check-list" }, issues.map((i) => el("li", { dataset: { code: i.code } }, (i.slot ? `${i.slot}：` : "") + loc(i))))
      : el("p", { id: "checks-ok", class: "success" }, t("desk.checks.ok")),
  );
}

function renderDecisions(app) {
  const actions = DECISIONS.filter((a) => app.allowed_actions.includes(a));
  $("decision-section").hidden = !actions.length;
  $("decision-buttons").replaceChildren(
    ...(actions.length
      ? actions.map((action) =>
          el(
            "button",
            { type: "button", id: `decide-${action}`, class: BUTTON_STYLE[action] || "", onclick: () => decide(action) },
            t(`desk.action.${action}`),
          ),
        )
      : [el("p", { class: "meta" }, t("desk.no.actions"))]),
  );
}

async function decide(action) {
  const form = $("decision-form");
  const reasons = form.elements.reasons.value.split("\n").map((line) => line.trim()).filter(Boolean).map((zh) => ({ zh }));
  const body = { action, reasons, comment: form.elements.comment.value.trim() || null, version: state.app.version };
  clearError($("decision-error"));
  try {
    await api(`/applications/${state.app.id}/decision`, { method: "POST", body });
  } catch (exc) {
    // A 409: someone else decided first, or the application changed; show it as it is now.
    if (exc.status === 409) await reload();
    showError($("decision-error"), exc, { focus: true });
    return;
  }
  form.reset();
  announce(t(`desk.done.${action}`));
  await reload();
  $("case-title").focus();
  watch();
}

async function reload() {
  const fresh = await guarded($("error"), () => api(`/applications/${state.app.id}`), { focus: false });
  if (!fresh) return;
  state.app = fresh;
  await renderCase();
}

// ------------------------------------------------------------------ licence lifecycle
async function renderLicence(app) {
  const panel = $("licence-panel");
  panel.hidden = !app.licence_id;
  if (panel.hidden) return;
  if (state.licence?.licence_id !== app.licence_id) {
    state.licence = await guarded($("lifecycle-error"), () => api(`/licences/${app.licence_id}`), { focus: false });
  }
  const lic = state.licence;
  if (!lic) return;
  const download = lic.download_url
    ? renewable(el("a", { href: lic.download_url, target: "_blank", rel: "noopener" }, t("portal.licence.download")), renewLicence)
    : null;
  const history = el(
    "ol",
    { id: "licence-history" },
    (lic.history || []).map((h) =>
      el(
        "li",
        {},
        `${formatDateTime(h.at)} · ${h.actor} · ${h.action}: ${h.from_status ?? "—"} → ${h.to_status}`,
        h.reason ? el("p", { class: "meta" }, h.reason) : null,
      ),
    ),
  );
  $("desk-licence").replaceChildren(
    facts([
      [t("portal.licence.number"), lic.metadata.number || ""],
      [t("portal.licence.id"), el("code", {}, lic.licence_id)],
      [t("portal.licence.status"), el("span", { id: "desk-licence-status", dataset: { status: lic.status } }, badge(lic.status, statusText(lic)))],
      [t("portal.licence.issued"), formatDate(lic.metadata.issue_date)],
    ]),
    el("p", {}, download),
    el("details", {}, el("summary", {}, t("desk.licence.history")), history),
  );
}

function statusText(lic) {
  return lang() === "zh" ? lic.status_zh : lic.status_en;
}

async function renewLicence() {
  state.licence = await api(`/licences/${state.licence.licence_id}`);
  return state.licence.download_url;
}

async function changeLicence(event) {
  event.preventDefault();
  const form = event.target;
  const body = { action: form.elements.action.value, reason: form.elements.reason.value.trim() };
  const path = `/licences/${state.licence.licence_id}/lifecycle`;
  const lic = await guarded($("lifecycle-error"), () => api(path, { method: "POST", body }));
  if (!lic) return;
  state.licence = lic;
  form.reset();
  announce(t("desk.lifecycle.done", { status: statusText(lic) }));
  await renderLicence(state.app);
}

// ------------------------------------------------------------------ rectification cases
// A bad rating (不满意 / 非常不满意) opens a case; reviewers verify (核实), rectify (整改) and answer
// (反馈) it, in that order, within its working-day deadline. The answer is what the applicant sees.

/** Item names by code ({zh, en}), from the queue when it had them, otherwise from the catalogue. */
async function itemNames(codes) {
  const missing = [...new Set(codes)].filter((code) => !state.items.has(code));
  await Promise.all(
    missing.map(async (code) => {
      const item = await api(`/items/${encodeURIComponent(code)}`).catch(() => null);
      state.items.set(code, item ? { zh: item.name_zh, en: item.name_en } : null);
    }),
  );
}

function itemName(code) {
  return loc(state.items.get(code)) || code;
}

function caseFlags(c) {
  if (c.status === "closed") return c.closed_on_time ? badge("ontime", t("cases.ontime")) : badge("late", t("cases.late"));
  if (c.overdue) return badge("overdue", t("desk.overdue"));
  if (c.at_risk) return badge("atrisk", t("desk.atrisk"));
  return null;
}

function caseBadge(c) {
  return badge(`case-${c.status}`, loc(c.status_name));
}

async function openCases(focus) {
  show("cases-view", focus);
  await loadCases();
}

/**
 * Without a status filter every unclosed case comes in one list; with one, page by page: `more`
 * asks for the page after the rows shown.
 */
async function loadCases({ more = false } = {}) {
  const status = $("cases-status").value;
  const query = { status, limit: status ? CASES_PAGE : "" };
  if (more && state.casesCursor) query.cursor = state.casesCursor;
  const table = $("cases");
  table.setAttribute("aria-busy", "true"); // the rows shown are the last list's until this one is in
  const page = await guarded($("error"), () => api("/cases", { query }));
  if (page) await itemNames(page.items.map((c) => c.item_code));
  table.removeAttribute("aria-busy");
  if (!page) return;
  const shown = more ? state.cases.length : 0;
  state.cases = more ? [...state.cases, ...page.items] : page.items;
  state.casesCursor = page.next_cursor || null;
  renderCases();
  if (more) $("cases").querySelectorAll("tbody a.open")[shown]?.focus();
}

function renderCases() {
  const count = state.cases.length;
  $("cases-more").hidden = !state.casesCursor;
  const counted = state.casesCursor ? "cases.count.more" : "cases.count";
  $("cases-count").textContent = count ? t(counted, { n: count }) : t("cases.none");
  $("cases").tBodies[0].replaceChildren(
    ...state.cases.map((c) => {
      const item = itemName(c.item_code);
      const level = t(`level.${c.review_level}`);
      const urgency = c.status === "closed" ? "" : c.overdue ? "overdue" : c.at_risk ? "at-risk" : "";
      return el(
        "tr",
        {
          dataset: { id: c.id, status: c.status, level: c.review_level, application: c.application_id, due: c.deadline.due },
          class: urgency,
        },
        el("td", { class: "due" }, formatDateTime(c.deadline.due)),
        el("th", { scope: "row" }, item),
        el("td", { class: "level" }, level),
        el("td", { class: "comment" }, c.review_comment || el("span", { class: "meta" }, t("cases.no.comment"))),
        el("td", { class: "status" }, caseBadge(c)),
        el("td", { class: "next" }, c.next_step ? t(`cases.step.${c.next_step}`) : "—"),
        el("td", { class: "flags" }, caseFlags(c)),
        el(
          "td",
          {},
          el("a", { href: `#case=${c.id}`, class: "open", "aria-label": t("cases.open.label", { item, level }) }, t("cases.open")),
          el("br"),
          el("a", { href: `#app=${c.application_id}`, class: "app", "aria-label": t("cases.app.label", { item }) }, t("cases.app")),
        ),
      );
    }),
  );
}

async function openRectification(id, focus) {
  const c = await guarded($("error"), () => api(`/cases/${id}`));
  if (!c) return;
  await itemNames([c.item_code]);
  if (state.rcase?.id !== id) $("rcase-form").reset();
  state.rcase = c;
  clearError($("rcase-error"));
  renderRectification();
  show("rcase-view", focus);
}

function renderRectification() {
  const c = state.rcase;
  const item = itemName(c.item_code);
  $("rcase-title").textContent = t("cases.case", { item });
  const due = `${formatDateTime(c.deadline.due)}（${t("days", { n: c.deadline.working_days })}）`;
  const closed = c.status === "closed";
  $("rcase-facts").replaceChildren(
    facts([
      [t("desk.col.status"), el("span", { id: "rcase-status", dataset: { status: c.status } }, caseBadge(c))],
      [t("cases.application"), el("a", { href: `#app=${c.application_id}`, id: "rcase-app" }, item)],
      [t("cases.col.level"), el("span", { id: "rcase-level", dataset: { level: c.review_level } }, t(`level.${c.review_level}`))],
      [t("cases.col.comment"), el("span", { id: "rcase-comment" }, c.review_comment || t("cases.no.comment"))],
      [t("cases.opened"), formatDateTime(c.opened_at)],
      [t("cases.deadline"), el("span", { id: "rcase-deadline" }, due, " ", closed ? null : caseFlags(c))],
      [t("cases.closed"), closed ? formatDateTime(c.closed_at) : ""],
      [t("cases.result"), closed ? el("span", { id: "rcase-result" }, caseFlags(c)) : ""],
      [t("desk.version"), String(c.version)],
    ]),
  );
  $("rcase-steps").replaceChildren(
    c.steps.length
      ? el(
          "ol",
          { id: "rcase-step-list", class: "steps" },
          c.steps.map((s) =>
            el(
              "li",
              { dataset: { step: s.step } },
              el("strong", {}, t("cases.step.line", { step: t(`cases.step.${s.step}`), by: s.by, at: formatDateTime(s.at) })),
              el("p", { class: "note" }, s.note),
            ),
          ),
        )
      : el("p", { class: "meta", id: "rcase-no-steps" }, t("cases.steps.none")),
  );
  const done = $("rcase-closed");
  done.hidden = !closed;
  done.className = c.closed_on_time ? "success" : "notice";
  done.dataset.onTime = closed ? String(Boolean(c.closed_on_time)) : "";
  done.textContent = closed
    ? t("cases.closed.line", { at: formatDateTime(c.closed_at), result: t(c.closed_on_time ? "cases.ontime" : "cases.late") })
    : "";
  $("rcase-step-section").hidden = closed || !c.next_step;
  if (c.next_step) {
    const step = c.next_step;
    $("rcase-form").dataset.step = step;
    $("rcase-step-title").textContent = t("cases.next", { step: t(`cases.step.${step}`) });
    $("rcase-note-label").textContent = t(`cases.note.${step}`);
    $("rcase-note-hint").textContent = t("cases.note.hint");
    $("rcase-submit").textContent = t(`cases.do.${step}`);
  }
}

async function recordStep(event) {
  event.preventDefault();
  const form = event.target;
  const c = state.rcase;
  if (!c?.next_step) return;
  const body = { step: c.next_step, note: form.elements.note.value, version: c.version };
  clearError($("rcase-error"));
  const button = $("rcase-submit");
  button.disabled = true;
  let fresh;
  try {
    fresh = await api(`/cases/${c.id}/steps`, { method: "POST", body });
  } catch (exc) {
    // A 409: the step was taken already or the case changed since it was read; show it as it is now.
    if (exc.status === 409) await reloadRectification();
    showError($("rcase-error"), exc, { focus: true });
    return;
  } finally {
    button.disabled = false;
  }
  form.reset();
  state.rcase = fresh;
  renderRectification();
  announce(t(`cases.done.${body.step}`));
  $("rcase-title").focus();
}

async function reloadRectification() {
  const fresh = await guarded($("error"), () => api(`/cases/${state.rcase.id}`), { focus: false });
  if (!fresh) return;
  state.rcase = fresh;
  renderRectification();
}

// ------------------------------------------------------------------ start
startPage({
  name: "desk",
  role: "reviewer",
  ready: async (who, fresh) => {
    startInbox(); // escalations to admins (issue 18 item 2)
    $("queue-filter").addEventListener("submit", (event) => {
      event.preventDefault();
      loadQueue();
    });
    $("queue-status").addEventListener("change", () => loadQueue());
    $("queue-at-risk").addEventListener("change", () => loadQueue());
    $("queue-more").addEventListener("click", () => loadQueue({ more: true }));
    initAssignment(who, { reload: () => loadQueue() });
    $("lifecycle-form").addEventListener("submit", changeLicence);
    // The licence lifecycle is the admin group's (template.yaml); reviewers only see the licence.
    $("lifecycle-form").hidden = !who.groups.includes("admin");
    $("cases-filter").addEventListener("submit", (event) => {
      event.preventDefault();
      loadCases();
    });
    $("cases-status").addEventListener("change", () => loadCases());
    $("cases-more").addEventListener("click", () => loadCases({ more: true }));
    $("rcase-form").addEventListener("submit", recordStep);
    window.addEventListener("hashchange", () => route());
    document.addEventListener("langchange", () => {
      if (!$("queue-view").hidden) renderQueue();
      if (!$("case-view").hidden && state.app) renderCase();
      if (!$("cases-view").hidden) renderCases();
      if (!$("rcase-view").hidden && state.rcase) renderRectification();
    });
    route({ focus: fresh });
  },
});
