// The legal clock in the desk: reviewers pause and resume it for a hearing, expert review or on-site
// inspection and ask for the one extension; admins approve or refuse it
// (POST /applications/{id}/clock/…). The server says which actions the caller may take
// (`allowed_actions`); the version read goes with every change, so a stale page gets a 409.

import { api } from "../shared/api.js";
import { clearError, showError } from "../shared/errors.js";
import { loc, t } from "../shared/i18n.js";
import { announce, el, formatDateTime } from "../shared/ui.js";

const PROCEDURES = ["hearing", "expert_review", "onsite_inspection"];

function pauseLine(p) {
  const procedure = loc(p.procedure_name);
  const line = p.ended_at
    ? t("clock.pause.line", {
        n: p.n,
        procedure,
        from: formatDateTime(p.started_at),
        to: formatDateTime(p.ended_at),
        days: p.working_days ?? 0,
      })
    : t("clock.pause.open", { n: p.n, procedure, from: formatDateTime(p.started_at) });
  return el("li", { dataset: { pause: String(p.n), open: String(!p.ended_at) } }, line, el("span", { class: "meta" }, ` — ${loc(p.reason)}`));
}

function extensionLine(e) {
  const vars = { days: e.days, reason: loc(e.reason) };
  if (e.status === "refused") vars.reason = loc(e.refusal);
  return el("p", { id: "clock-extension", dataset: { status: e.status } }, t(`clock.extension.${e.status}`, vars));
}

/** Fill `box` with the clock of `app` and the actions the caller may take; `done()` reloads the case. */
export async function renderClock(app, box, { done }) {
  if (!box) return;
  const section = box.closest("section") || box;
  if (!app.deadline) {
    section.hidden = true;
    box.replaceChildren();
    return;
  }
  const clock = await api(`/applications/${app.id}/clock`).catch(() => null);
  if (!clock) return;
  section.hidden = false;
  const error = el("div", { id: "clock-error", class: "error", role: "alert", tabindex: "-1", hidden: true });

  async function send(path, body, doneKey) {
    clearError(error);
    try {
      await api(`/applications/${app.id}/clock/${path}`, { method: "POST", body: { ...body, version: clock.version } });
    } catch (exc) {
      showError(error, exc, { focus: true });
      return;
    }
    announce(t(doneKey));
    await done();
  }

  const parts = [
    el("p", { id: "desk-clock-state", dataset: { paused: String(clock.paused) } }, clock.paused ? t("clock.paused") : t("clock.running")),
    el("ul", { id: "desk-clock-summary" }, clock.summary.map((line) => el("li", {}, loc(line)))),
  ];
  if (clock.pauses.length) parts.push(el("h4", {}, t("clock.pauses")), el("ol", { id: "clock-pauses" }, clock.pauses.map(pauseLine)));
  if (clock.extension) parts.push(extensionLine(clock.extension));
  const allowed = clock.allowed_actions;

  if (allowed.includes("pause")) {
    const select = el(
      "select",
      { id: "clock-procedure", name: "procedure", "data-field": "procedure" },
      PROCEDURES.map((p) => el("option", { value: p }, t(`clock.procedure.${p}`))),
    );
    const reason = el("textarea", { id: "clock-pause-reason", name: "reason", "data-field": "reason", required: true, maxlength: "1000" });
    const form = el(
      "form",
      { id: "clock-pause-form", novalidate: true },
      el("label", { for: "clock-procedure" }, t("clock.procedure")),
      select,
      el("label", { for: "clock-pause-reason" }, t("clock.reason")),
      reason,
      el("div", { class: "actions" }, el("button", { type: "submit", id: "clock-pause" }, t("clock.do.pause"))),
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      send("pauses", { procedure: select.value, reason: { zh: reason.value.trim() } }, "clock.done.pause");
    });
    parts.push(form);
  }
  if (allowed.includes("end_pause") && clock.open_pause) {
    const n = clock.open_pause.n;
    parts.push(
      el(
        "div",
        { class: "actions" },
        el("button", { type: "button", id: "clock-end-pause", onclick: () => send(`pauses/${n}/end`, {}, "clock.done.end_pause") }, t("clock.do.end_pause", { n })),
      ),
    );
  }
  if (allowed.includes("request_extension")) {
    const days = el("input", { id: "clock-days", name: "days", type: "number", min: "1", max: "10", value: "10", "data-field": "days" });
    const reason = el("textarea", { id: "clock-extension-reason", name: "reason", "data-field": "reason", required: true, maxlength: "1000" });
    const form = el(
      "form",
      { id: "clock-extension-form", novalidate: true },
      el("label", { for: "clock-days" }, t("clock.days")),
      days,
      el("label", { for: "clock-extension-reason" }, t("clock.reason")),
      reason,
      el("div", { class: "actions" }, el("button", { type: "submit", id: "clock-request-extension" }, t("clock.do.request_extension"))),
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      send("extension", { days: Number(days.value), reason: { zh: reason.value.trim() } }, "clock.done.request_extension");
    });
    parts.push(form);
  }
  if (allowed.includes("decide_extension")) {
    const reason = el("textarea", { id: "clock-refusal-reason", name: "reason", "data-field": "reason", maxlength: "1000" });
    parts.push(
      el(
        "form",
        { id: "clock-decision-form", novalidate: true, onsubmit: (event) => event.preventDefault() },
        el("label", { for: "clock-refusal-reason" }, t("clock.reason")),
        reason,
        el(
          "div",
          { class: "actions" },
          el("button", { type: "button", id: "clock-approve", onclick: () => send("extension/decision", { decision: "approve" }, "clock.done.approve") }, t("clock.do.approve")),
          el(
            "button",
            {
              type: "button",
              id: "clock-refuse",
              class: "danger",
              onclick: () => {
                const text = reason.value.trim();
                send("extension/decision", { decision: "refuse", reason: text ? { zh: text } : null }, "clock.done.refuse");
              },
            },
            t("clock.do.refuse"),
          ),
        ),
      ),
    );
  }
  parts.push(error);
  box.replaceChildren(...parts);
}
