// How one uploaded material and an audit trail look, on the portal and the desk alike.

import { loc, t } from "./i18n.js";
import { badge, el, formatBytes, formatDateTime, renewable } from "./ui.js";

/** What a person calls the material: its file name, or for one taken from an e-licence, that licence. */
export function materialName(m) {
  if (m.source === "elicence") return `${t("mat.source.elicence")} ${m.fields?.licence_id || ""}`.trim();
  return m.declared?.filename || m.upload_id;
}

/** The file name, or a badge and the licence identifier for a material taken from an e-licence. */
function origin(m) {
  if (m.source !== "elicence") return [m.declared?.filename || m.upload_id];
  return [badge("ok", t("mat.source.elicence")), " ", el("code", { class: "licence-id" }, m.fields?.licence_id || "")];
}

/**
 * The card of one material: file, processing status, classification, fields, problems, PDF link.
 * `renew(m)` resolves to a fresh link to the normalised PDF when the one shown may have expired.
 */
export function materialCard(m, { heading = null, onRemove = null, renew = null } = {}) {
  const name = materialName(m);
  const source = m.source || "upload";
  const card = el("li", { class: "material", dataset: { slot: m.slot, uploadId: m.upload_id, status: m.status, source } });
  if (heading) card.append(el("h4", {}, heading));
  card.append(
    el(
      "p",
      {},
      el("span", { class: "file" }, ...origin(m)),
      m.declared ? el("span", { class: "meta" }, ` (${formatBytes(m.declared.size)}) `) : " ",
      badge(m.status, t(`material.${m.status}`)),
    ),
  );
  if (m.reason) card.append(el("p", { class: "notice reason" }, loc(m.reason)));
  const cls = m.classification;
  if (cls) {
    const pct = Math.round((cls.confidence ?? 0) * 100);
    const text = t("mat.classified", { type: t(`type.${cls.material_type}`), pct });
    card.append(el("p", { class: "classification", dataset: { type: cls.material_type } }, text));
    if (cls.reason) card.append(el("p", { class: "meta" }, loc(cls.reason)));
  }
  if (m.status !== "awaiting_upload" && m.status !== "processing") {
    const problems = m.problems || [];
    if (problems.length) {
      const list = el("ul", { class: "problems" }, problems.map((p) => el("li", { dataset: { code: p.code } }, loc(p))));
      card.append(el("p", { class: "meta" }, t("mat.problems")), list);
    } else {
      card.append(el("p", { class: "meta no-problems" }, t("mat.no.problems")));
    }
    const fields = Object.entries(m.fields || {});
    const list = el("dl", { class: "facts fields" });
    for (const [key, value] of fields) {
      // A value a reviewer corrected says so, with what the pipeline read (the document is unchanged).
      const read = m.fields_as_read ? (m.fields_as_read[key] ?? "—") : null;
      const corrected = read !== null && String(read) !== String(value);
      list.append(
        el("dt", {}, t(`field.${key}`)),
        el("dd", { dataset: corrected ? { field: key, corrected: "true" } : { field: key } }, String(value)),
      );
      if (corrected) list.append(el("dd", { class: "meta corrected" }, t("mat.corrected", { value: String(read) })));
    }
    card.append(
      fields.length
        ? el("details", { open: true }, el("summary", {}, t("mat.fields")), list)
        : el("p", { class: "meta" }, t("mat.no.fields")),
    );
  }
  const tools = el("p", {});
  if (m.download_url) {
    const link = el("a", { href: m.download_url, target: "_blank", rel: "noopener", class: "pdf-link" }, t("mat.pdf"));
    if (renew) renewable(link, () => renew(m));
    tools.append(link, m.pages ? ` · ${t("mat.pages", { n: m.pages })} ` : " ");
  }
  if (onRemove) {
    tools.append(el("button", { type: "button", class: "secondary", onclick: () => onRemove(m) }, t("mat.remove", { name })));
  }
  if (tools.childNodes.length) card.append(tools);
  return card;
}

/** A renew function for materialCard: the material's link from a fresh read of application `id`. */
export function renewFrom(api, id) {
  return async (m) => (await api(`/applications/${id}`)).materials.find((x) => x.upload_id === m.upload_id)?.download_url;
}

/** The audit trail, oldest first. */
export function auditList(events) {
  return events.map((e) => {
    const action = t(`audit.${e.action}`) === `audit.${e.action}` ? e.action : t(`audit.${e.action}`);
    const item = el("li", {}, t("audit.line", { at: formatDateTime(e.at), actor: e.actor, action }));
    const reasons = (e.reasons || []).map((r) => el("li", {}, loc(r)));
    if (reasons.length) item.append(el("ul", {}, reasons));
    if (e.comment) item.append(el("p", { class: "meta" }, e.comment));
    return item;
  });
}
