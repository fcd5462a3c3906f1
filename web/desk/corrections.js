// A reviewer checks what was read from a material against its page image and corrects a value or
// the type, with a reason (POST /applications/{id}/materials/{upload}/corrections). The page preview
// is the upright page the field boxes are fractions of; boxes are placed by percentage through the
// CSSOM (no inline style: the pages' CSP allows none).

import { api } from "../shared/api.js";
import { clearError, showError } from "../shared/errors.js";
import { t } from "../shared/i18n.js";
import { announce, el, formatDateTime } from "../shared/ui.js";

const TYPE = "material_type";
// The catalogue's long-standing types; the item's own slot types are added (typesFor).
const TYPES = [
  "business_licence", "resident_id_card", "application_form", "site_certificate", "articles_of_association",
  "land_use_certificate", "site_plan", "safety_approval", "fire_approval", "name_preapproval",
  "power_of_attorney", "environmental_approval", "financial_statement", "qualification_certificate", "other",
];
// While the application is with the reviewers; afterwards the reading stands as decided on.
const CORRECTABLE_APPS = ["submitted", "accepted"];
const CORRECTABLE_MATERIALS = ["catalogued", "needs_attention", "rejected"];

const itemTypes = new Map();

/** The types a reviewer may set on the materials of `app`: the item's slot types first, then the rest. */
export async function typesFor(app) {
  const key = `${app.item_code}@${app.catalogue_version}`; // the application's pinned version
  if (!itemTypes.has(key)) {
    const query = { version: app.catalogue_version };
    const item = await api(`/items/${encodeURIComponent(app.item_code)}`, { query }).catch(() => null);
    itemTypes.set(key, (item?.materials || []).map((m) => m.material_type));
  }
  const current = app.materials.map((m) => m.classification?.material_type).filter(Boolean);
  return [...new Set([...itemTypes.get(key), ...current, ...TYPES])];
}

const typeName = (code) => (t(`type.${code}`) === `type.${code}` ? code : t(`type.${code}`));

const fieldName = (name) => (name === TYPE ? t("corr.type") : t(`field.${name}`) === `field.${name}` ? name : t(`field.${name}`));

/** The fields a reviewer may correct on `m`: those read, those located, those a problem names. */
function fieldsOf(m) {
  const names = [...Object.keys(m.fields || {}), ...Object.keys(m.readings || {})];
  for (const p of m.problems || []) if (p.field && p.field !== TYPE) names.push(p.field);
  return [...new Set(names)].filter((n) => /^[a-z][a-z0-9_]*$/.test(n));
}

function place(box, [x0, y0, x1, y1]) {
  // Fractions of the page → percentages of the figure, which is exactly the image's size.
  box.style.left = `${x0 * 100}%`;
  box.style.top = `${y0 * 100}%`;
  box.style.width = `${Math.max(0, x1 - x0) * 100}%`;
  box.style.height = `${Math.max(0, y1 - y0) * 100}%`;
}

function pages(m, name, form) {
  if (!m.previews?.length) return el("p", { class: "meta no-preview" }, t("corr.nopreview"));
  return el(
    "div",
    { class: "page-previews" },
    m.previews.map((preview) => {
      const figure = el("figure", { class: "page-preview", dataset: { page: String(preview.page) } });
      const frame = el("div", { class: "page-frame" });
      frame.append(el("img", { src: preview.url, alt: t("corr.page.alt", { name, n: preview.page + 1 }) }));
      for (const [field, reading] of Object.entries(m.readings || {})) {
        if (reading.page !== preview.page || !Array.isArray(reading.box) || reading.box.length !== 4) continue;
        const uncertain = (m.problems || []).some((p) => p.field === field);
        const box = el("button", {
          type: "button",
          class: `field-box${uncertain ? " uncertain" : ""}`,
          dataset: { field },
          title: fieldName(field),
          "aria-label": t("corr.edit", { field: fieldName(field) }),
          onclick: () => choose(form, m, field),
        });
        place(box, reading.box);
        frame.append(box);
      }
      figure.append(frame, el("figcaption", {}, t("corr.page", { n: preview.page + 1 })));
      return figure;
    }),
  );
}

function choose(form, m, field) {
  form.elements.field.value = field;
  const current = field === TYPE ? m.classification?.material_type : m.fields?.[field];
  if (field === TYPE) form.elements.type.value = current || "other";
  else form.elements.value.value = current ?? "";
  sync(form);
  (field === TYPE ? form.elements.type : form.elements.value).focus();
}

function sync(form) {
  const typeChosen = form.elements.field.value === TYPE;
  form.querySelector(".value-row").hidden = typeChosen;
  form.querySelector(".type-row").hidden = !typeChosen;
  for (const box of form.closest(".review-panel").querySelectorAll(".field-box")) {
    box.classList.toggle("chosen", box.dataset.field === form.elements.field.value);
  }
}

function history(m) {
  if (!m.corrections?.length) return null;
  return el(
    "details",
    { open: true },
    el("summary", {}, t("corr.history")),
    el(
      "ol",
      { class: "correction-list" },
      m.corrections.map((c) =>
        el(
          "li",
          { dataset: { field: c.field, actor: c.actor } },
          t("corr.line", {
            at: formatDateTime(c.at),
            actor: c.actor,
            role: c.actor_role,
            field: fieldName(c.field),
            old: c.old ?? "—",
            new: c.new,
          }),
          el("p", { class: "meta" }, t("corr.reason.line", { reason: c.reason })),
        ),
      ),
    ),
  );
}

/**
 * The check-and-correct panel of one material, or null when it cannot be corrected now.
 * `done(result)` is called after a correction was recorded (or found already recorded).
 */
export function reviewPanel(app, m, { name, types = TYPES, done }) {
  if (!CORRECTABLE_APPS.includes(app.status) || m.source === "elicence" || !CORRECTABLE_MATERIALS.includes(m.status)) {
    return null;
  }
  const id = `corr-${m.upload_id}`;
  const fields = fieldsOf(m);
  const form = el("form", { class: "correct-form", novalidate: true, dataset: { uploadId: m.upload_id } });
  const options = [...fields, TYPE].map((f) => el("option", { value: f }, fieldName(f)));
  const values = fields.map((f) => {
    const reading = m.readings?.[f];
    const pct = typeof reading?.confidence === "number" ? t("corr.confidence", { pct: Math.round(reading.confidence * 100) }) : "";
    const asRead = m.fields_as_read && f in m.fields_as_read ? t("corr.asread", { value: m.fields_as_read[f] }) : "";
    return el(
      "li",
      { dataset: { field: f } },
      el("span", { class: "term" }, `${fieldName(f)}：`),
      el("span", { class: "value" }, m.fields?.[f] ?? "—"),
      " ",
      el("span", { class: "meta" }, [pct, asRead].filter(Boolean).join(" · ")),
      " ",
      el("button", { type: "button", class: "secondary edit", onclick: () => choose(form, m, f) }, t("corr.edit", { field: fieldName(f) })),
    );
  });
  const error = el("div", { class: "error", role: "alert", tabindex: "-1", hidden: true, id: `${id}-error` });
  form.append(
    el("label", { for: `${id}-field` }, t("corr.field")),
    el("select", { id: `${id}-field`, name: "field", "data-field": "field", onchange: () => sync(form) }, options),
    el(
      "div",
      { class: "value-row" },
      el("label", { for: `${id}-value` }, t("corr.value")),
      el("input", { id: `${id}-value`, name: "value", "data-field": "value", maxlength: "2000" }),
    ),
    el(
      "div",
      { class: "type-row", hidden: true },
      el("label", { for: `${id}-type` }, t("corr.type")),
      el("select", { id: `${id}-type`, name: "type" }, types.map((code) => el("option", { value: code }, typeName(code)))),
    ),
    el("label", { for: `${id}-reason` }, t("corr.reason")),
    el("input", { id: `${id}-reason`, name: "reason", "data-field": "reason", maxlength: "1000", required: true }),
    error,
    el("div", { class: "actions" }, el("button", { type: "submit" }, t("corr.submit"))),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const field = form.elements.field.value;
    const body = {
      field,
      value: field === TYPE ? form.elements.type.value : form.elements.value.value,
      reason: form.elements.reason.value,
    };
    clearError(error);
    let result;
    try {
      result = await api(`/applications/${app.id}/materials/${m.upload_id}/corrections`, { method: "POST", body });
    } catch (exc) {
      showError(error, exc, { focus: true });
      return;
    }
    const c = result.correction;
    announce(c ? t("corr.done", { field: fieldName(c.field), old: c.old ?? "—", new: c.new }) : t("corr.replay"));
    await done(result);
  });
  const panel = el(
    "section",
    { class: "review-panel", dataset: { uploadId: m.upload_id }, "aria-label": `${t("corr.title")}：${name}` },
    el("h5", {}, t("corr.title")),
    pages(m, name, form),
    fields.length ? el("ul", { class: "read-values" }, values) : null,
    form,
    history(m),
  );
  sync(form);
  return panel;
}
