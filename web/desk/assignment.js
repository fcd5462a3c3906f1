// Work assignment in the desk: the queue's mine / unassigned / all filter and the owner of each row
// with claim and release buttons; on one application its owner, claim / release, and for admins
// the reassignment to a member of the reviewer group with a reason (POST /applications/{id}/claim,
// /release, /assignee). Escalated applications carry a badge; admins can list only those.
// A 409 (someone else claimed first) is shown with the owner the server names, and the view reloads.

import { api } from "../shared/api.js";
import { claims, currentToken } from "../shared/auth.js";
import { clearError, showError } from "../shared/errors.js";
import { t } from "../shared/i18n.js";
import { $, announce, badge, el, formatDateTime } from "../shared/ui.js";

const state = { who: null, admin: false, reviewers: null };

/** My username as assignments name reviewers (the identity provider's; the sub when it has none). */
function me() {
  const c = claims(currentToken()) || {};
  return c["cognito:username"] || c.sub || state.who?.sub || null;
}

function ownerName(a) {
  return a.assignee_name || a.assignee;
}

/** Put the filter and the owner column on the queue; `reload()` lists the queue again. */
export function initAssignment(who, { reload }) {
  state.who = who;
  state.admin = who.groups.includes("admin");
  const form = $("queue-filter");
  if (form && !$("queue-assigned")) {
    const select = el(
      "select",
      { id: "queue-assigned", name: "assigned" },
      ["any", "mine", "unassigned"].map((v) => el("option", { value: v, "data-i18n": `assign.filter.${v}` }, t(`assign.filter.${v}`))),
    );
    select.addEventListener("change", () => reload());
    const parts = [el("div", {}, el("label", { for: "queue-assigned", "data-i18n": "assign.filter" }, t("assign.filter")), select)];
    if (state.admin) {
      const box = el("input", { type: "checkbox", id: "queue-escalated", name: "escalated" });
      box.addEventListener("change", () => reload());
      parts.push(el("div", {}, el("label", { class: "choice" }, box, el("span", { "data-i18n": "assign.filter.escalated" }, t("assign.filter.escalated")))));
    }
    form.lastElementChild.before(...parts);
  }
  const head = $("queue")?.tHead?.rows[0];
  if (head && !$("queue-col-owner")) {
    head.lastElementChild.before(el("th", { scope: "col", id: "queue-col-owner", "data-i18n": "assign.col" }, t("assign.col")));
  }
}

/** The queue query's assignment filters. */
export function assignmentQuery() {
  return {
    assigned: $("queue-assigned")?.value || "any",
    escalated: $("queue-escalated")?.checked ? "true" : "",
  };
}

async function act(id, verb, errorBox) {
  clearError(errorBox);
  try {
    await api(`/applications/${id}/${verb}`, { method: "POST" });
  } catch (exc) {
    showError(errorBox, exc, { focus: true });
    return false;
  }
  announce(t(`assign.done.${verb}`));
  return true;
}

/** The owner cell of a queue row: who holds it, and claim (unassigned) or release (mine). */
export function ownerCell(entry, { done }) {
  const mine = entry.assignee && entry.assignee === me();
  const cell = el("td", { class: "owner", dataset: { assignee: entry.assignee || "" } });
  const name = entry.assignee ? ownerName(entry) : t("assign.nobody");
  cell.append(el("span", { class: entry.assignee ? "" : "meta" }, mine ? t("assign.me", { name }) : name));
  if (entry.escalated) cell.append(" ", badge("escalated", t("assign.escalated")));
  const verb = !entry.assignee ? "claim" : mine ? "release" : null;
  if (verb) {
    const button = el(
      "button",
      { type: "button", class: verb === "release" ? "secondary small" : "small", "aria-label": t(`assign.${verb}.label`, { id: entry.id.slice(0, 8) }) },
      t(`assign.${verb}`),
    );
    button.addEventListener("click", async () => {
      button.disabled = true;
      await act(entry.id, verb, $("error"));
      await done();
    });
    cell.append(el("br"), button);
  }
  return cell;
}

async function reviewers() {
  if (!state.reviewers) state.reviewers = (await api("/review/reviewers").catch(() => ({ items: [] }))).items;
  return state.reviewers;
}

/** The assignment panel of one application (after its facts); `done()` reloads the case. */
export async function renderAssignment(app, { done }) {
  let box = $("case-assignment");
  if (!box) {
    box = el("section", { id: "case-assignment", class: "assignment", "aria-labelledby": "assign-title" });
    $("case-facts").after(box);
  }
  const a = await api(`/applications/${app.id}/assignment`).catch(() => null);
  if (!a) {
    box.hidden = true;
    return;
  }
  box.hidden = false;
  const error = el("div", { id: "assign-error", class: "error", role: "alert", tabindex: "-1", hidden: true });
  const open = ["submitted", "accepted", "correction_requested"].includes(a.status);
  const line = a.assignee
    ? t(a.mine ? "assign.held.mine" : "assign.held", { name: ownerName(a), until: formatDateTime(a.assignee_until) })
    : t("assign.free");
  const parts = [
    el("h3", { id: "assign-title" }, t("assign.title")),
    el("p", { id: "assign-owner", dataset: { assignee: a.assignee || "", mine: String(a.mine) } }, line),
  ];
  if (a.escalated?.current) {
    parts.push(el("p", { id: "assign-escalated" }, badge("escalated", t(`assign.escalated.${a.escalated.level}`))));
  }
  const buttons = [];
  if (open && (!a.assignee || a.mine)) {
    const verb = a.mine ? "release" : "claim";
    const button = el("button", { type: "button", id: `assign-${verb}`, class: a.mine ? "secondary" : "" }, t(`assign.${verb}`));
    button.addEventListener("click", async () => {
      if (await act(app.id, verb, error)) await done();
    });
    buttons.push(button);
  }
  if (buttons.length) parts.push(el("p", {}, buttons));
  if (open && state.admin) parts.push(await reassignForm(app, error, done));
  parts.push(error);
  box.replaceChildren(...parts);
}

async function reassignForm(app, error, done) {
  const people = await reviewers();
  const select = el(
    "select",
    { id: "assign-to", name: "reviewer", required: true },
    people.map((r) => el("option", { value: r.username }, r.name ? `${r.name}（${r.username}）` : r.username)),
  );
  const reason = el("input", { id: "assign-reason", name: "reason", required: true, maxlength: "500" });
  const form = el(
    "form",
    { id: "assign-form", class: "row", novalidate: true },
    el("div", {}, el("label", { for: "assign-to" }, t("assign.to")), select),
    el("div", {}, el("label", { for: "assign-reason" }, t("assign.reason")), reason),
    el("div", {}, el("button", { type: "submit", id: "assign-submit" }, t("assign.reassign"))),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearError(error);
    try {
      await api(`/applications/${app.id}/assignee`, { method: "POST", body: { reviewer: select.value, reason: reason.value.trim() } });
    } catch (exc) {
      showError(error, exc, { focus: true });
      return;
    }
    announce(t("assign.done.reassign"));
    await done();
  });
  return el("div", {}, el("h4", {}, t("assign.reassign.title")), people.length ? form : el("p", { class: "meta" }, t("assign.no.reviewers")));
}
