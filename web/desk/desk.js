// Reviewer desk: the queue by deadline (at-risk and overdue marked), one application's materials side
// by side with what was read from them, the decision with reasons, and the licence's lifecycle.
// Views follow the URL fragment: "" (queue) and #app=<id>.

import { api } from "../shared/api.js";
import { clearError, showError } from "../shared/errors.js";
import { lang, loc, t } from "../shared/i18n.js";
import { auditList, materialCard, renewFrom } from "../shared/materials.js";
import { startPage } from "../shared/page.js";
import {
  $, announce, badge, el, facts, formatDate, formatDateTime, poller, renewable, showView, statusBadge,
} from "../shared/ui.js";

const VIEWS = ["queue-view", "case-view"];
const DECISIONS = ["accept", "request_correction", "approve", "reject"];
const BUTTON_STYLE = { reject: "danger", request_correction: "secondary" };

const state = { queue: [], queueCursor: null, app: null, licence: null, poll: null };
const QUEUE_PAGE = 100;

function route({ focus = true } = {}) {
  state.poll?.stop();
  state.poll = null;
  const id = new URLSearchParams(window.location.hash.slice(1)).get("app");
  if (id) openCase(id, focus);
  else openQueue(focus);
}

async function guarded(container, work, { focus = true } = {}) {
  clearError(container);
  try {
    return await work();
  } catch (exc) {
    showError(container, exc, { focus });
    return undefined;
  }
}

// ------------------------------------------------------------------ queue
async function openQueue(focus) {
  showView(VIEWS, "queue-view", { focus });
  await loadQueue();
}

/** The queue's first page for the filters, or with `more` the next page after the rows shown. */
async function loadQueue({ more = false } = {}) {
  const query = { status: $("queue-status").value, at_risk: $("queue-at-risk").checked ? "true" : "", limit: QUEUE_PAGE };
  if (more && state.queueCursor) query.cursor = state.queueCursor;
  const page = await guarded($("error"), () => api("/review/queue", { query }));
  if (!page) return;
  const shown = more ? state.queue.length : 0;
  state.queue = more ? [...state.queue, ...page.items] : page.items;
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
  showView(VIEWS, "case-view", { focus });
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
      [t("portal.app.submitted"), formatDateTime(app.submitted_at)],
      [
        app.deadline ? t("portal.app.deadline") : t("portal.app.acceptance.due"),
        due ? `${formatDateTime(due.due)}（${t("days", { n: due.working_days })}）` : "",
      ],
      [t("desk.version"), String(app.version)],
    ]),
  );
  const renew = renewFrom(api, app.id);
  $("case-materials").replaceChildren(...app.materials.map((m) => materialCard(m, { heading: loc(m.slot_name) || m.slot, renew })));
  renderChecks(app);
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

// ------------------------------------------------------------------ start
startPage({
  name: "desk",
  role: "reviewer",
  ready: async (who, fresh) => {
    $("queue-filter").addEventListener("submit", (event) => {
      event.preventDefault();
      loadQueue();
    });
    $("queue-status").addEventListener("change", () => loadQueue());
    $("queue-at-risk").addEventListener("change", () => loadQueue());
    $("queue-more").addEventListener("click", () => loadQueue({ more: true }));
    $("lifecycle-form").addEventListener("submit", changeLicence);
    window.addEventListener("hashchange", () => route());
    document.addEventListener("langchange", () => {
      if (!$("queue-view").hidden) renderQueue();
      if (!$("case-view").hidden && state.app) renderCase();
    });
    route({ focus: fresh });
  },
});
