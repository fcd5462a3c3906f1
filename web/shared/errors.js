// API errors shown in the reader's language.
// Every onestop error is {code, message: {zh, en}, details: [{code, zh, en, field}], reference?};
// the gateway's own 401/404 and network failures are turned into the same shape first.

import { loc, t } from "./i18n.js";
import { el } from "./ui.js";

/** An error the pages can render: the API body (normalised) and the HTTP status. */
export class ApiError extends Error {
  constructor(status, body) {
    const normalised = normalise(status, body);
    super(normalised.message.en);
    this.status = status;
    this.body = normalised;
  }
  get code() {
    return this.body.code;
  }
}

function both(key, vars) {
  // Page-made messages keep their key, so they can be shown again in the other language.
  return { key, vars };
}

function normalise(status, body) {
  if (body && typeof body.message === "object" && body.message !== null) {
    return { ...body, details: body.details || [] };
  }
  if (status === 0) return { code: "network", message: both("error.network"), details: [] };
  if (status === 401) return { code: "unauthorized", message: both("error.unauthorized"), details: [] };
  const extra = body && typeof body.message === "string" ? [{ code: "raw", zh: body.message, en: body.message }] : [];
  return { code: `http_${status}`, message: both("error.http", { status }), details: extra };
}

function text(message) {
  return message.key ? t(message.key, message.vars) : loc(message);
}

/**
 * Render `error` into `container` (role="alert"); fields named in details (data-field="applicant.uscc")
 * are marked aria-invalid and described by the message. Re-rendered when the language changes.
 */
export function showError(container, error, { focus = false } = {}) {
  if (error?.handled) return; // already shown where it belongs (a refused sign-in: the sign-in form)
  clearError(container);
  const body = error instanceof ApiError ? error.body : { code: "client", message: both("error.unexpected"), details: [] };
  if (!(error instanceof ApiError)) console.error(error);
  container._error = error;
  container._focus = focus;
  container.dataset.code = body.code;
  const list = el("ul", { class: "error-details" });
  const form = container.closest("form") || document;
  body.details.forEach((detail, i) => {
    const id = `${container.id}-d${i}`;
    list.append(el("li", { id, dataset: { code: detail.code, field: detail.field || "" } }, loc(detail)));
    const control = detail.field && form.querySelector(`[data-field="${CSS.escape(detail.field)}"]`);
    if (control) {
      control.setAttribute("aria-invalid", "true");
      control.setAttribute("aria-describedby", [control.dataset.hint, id].filter(Boolean).join(" "));
    }
  });
  container.append(el("p", { class: "error-message" }, text(body.message)));
  if (body.details.length) container.append(list);
  if (body.reference) container.append(el("p", { class: "error-ref" }, t("error.reference", { ref: body.reference })));
  container.hidden = false;
  if (focus) container.focus();
}

/** `work()`'s result, or undefined with its error shown in `container` (focused unless told not to). */
export async function guarded(container, work, { focus = true } = {}) {
  clearError(container);
  try {
    return await work();
  } catch (exc) {
    showError(container, exc, { focus });
    return undefined;
  }
}

export function clearError(container) {
  container.textContent = "";
  container.hidden = true;
  container._error = null;
  delete container.dataset.code;
  const scope = container.closest("form") || document;
  for (const control of scope.querySelectorAll("[aria-invalid]")) {
    control.removeAttribute("aria-invalid");
    if (control.dataset.hint) control.setAttribute("aria-describedby", control.dataset.hint);
    else control.removeAttribute("aria-describedby");
  }
}

document.addEventListener("langchange", () => {
  for (const container of document.querySelectorAll(".error")) {
    if (container._error) showError(container, container._error);
  }
});
