// Applicant portal: choose a service item, apply, upload each material straight to storage, watch it
// being processed, submit (the one-time notice lists everything missing), get the licence, rate.
// Views follow the URL fragment: "" (catalogue and my applications), #item=<code>, #app=<id>.

import { channelFact } from "../shared/channel.js";
import { api, uploadToStorage } from "../shared/api.js";
import { clearError, guarded, showError } from "../shared/errors.js";
import { applyStatic, lang, loc, t } from "../shared/i18n.js";
import { auditList, materialCard, materialName, renewFrom } from "../shared/materials.js";
import { startPage } from "../shared/page.js";
import { renderClock } from "./clock.js";
import { startInbox } from "./inbox.js";
import { loadWindowApps } from "./window.js";
import {
  $, announce, badge, el, facts, formatBytes, formatDate, formatDateTime, poller, renewable, showView, statusBadge,
} from "../shared/ui.js";

const VIEWS = ["home-view", "item-view", "app-view"];
const EDITABLE = ["draft", "correction_requested"];
const FINISHED = ["approved", "rejected", "withdrawn"];
const LEVELS = ["very_satisfied", "satisfied", "basically_satisfied", "dissatisfied", "very_dissatisfied"];
const INDICATORS = ["overall_satisfaction", "efficiency", "guidance_accuracy", "convenience", "platform_usability"];
const SCORES = [5, 4, 3, 2, 1];

const state = {
  categories: new Map(), // code → {zh, en}
  items: [],
  item: null, // the item being looked at (item view)
  app: null, // the application being looked at (app view)
  appItem: null, // its service item, for the material list
  licence: null,
  review: undefined, // undefined: not loaded; null: not rated yet
  notice: null, // the last 422 materials_incomplete body
  seen: new Map(), // upload id → status, to announce changes
  uploading: new Set(), // slots with a file on its way to storage
  poll: null,
  myApps: [], // the pages of "my applications" loaded so far
  myAppsCursor: null, // next_cursor of the last page: more to show
};
const MY_APPS_PAGE = 20;

// ------------------------------------------------------------------ routing
function route({ focus = true } = {}) {
  state.poll?.stop();
  state.poll = null;
  const params = new URLSearchParams(window.location.hash.slice(1));
  if (params.get("app")) openApp(params.get("app"), focus);
  else if (params.get("item")) openItem(params.get("item"), focus);
  else openHome(focus);
}

function go(fragment) {
  if (window.location.hash.slice(1) === fragment) route();
  else window.location.hash = fragment;
}

// ------------------------------------------------------------------ home: catalogue and my applications
async function openHome(focus) {
  showView(VIEWS, "home-view", { focus });
  await Promise.all([loadItems(), loadMyApps()]);
}

async function loadCategories() {
  const all = await guarded($("error"), () => api("/items"));
  for (const item of all?.items || []) state.categories.set(item.category, item.category_name);
  renderCategories();
}

function renderCategories() {
  const select = $("category");
  const chosen = select.value;
  select.replaceChildren(el("option", { value: "" }, t("portal.category.all")));
  for (const [code, name] of state.categories) select.append(el("option", { value: code }, loc(name)));
  select.value = chosen;
}

async function loadItems() {
  const query = { q: $("q").value.trim(), category: $("category").value, lang: lang() };
  const found = await guarded($("error"), () => api("/items", { query }));
  if (!found) return;
  state.items = found.items;
  renderItems();
}

function renderItems() {
  const count = state.items.length;
  $("item-count").textContent = count ? t("portal.items.count", { n: count }) : t("portal.items.none");
  $("item-list").replaceChildren(
    ...state.items.map((item) =>
      el(
        "li",
        { dataset: { code: item.code } },
        el("button", { type: "button", class: "link", onclick: () => go(`item=${item.code}`) }, loc(item, "name")),
        el("p", { class: "meta" }, `${loc(item.category_name)} · ${department(item)}`),
        el("p", { class: "meta" }, t("portal.limit", { p: item.promised_limit_days, s: item.statutory_limit_days })),
      ),
    ),
  );
}

function department(item) {
  return lang() === "zh" ? item.department : item.department_en;
}

/** The first page of the caller's applications, or with `more` the next one after those shown. */
async function loadMyApps({ more = false } = {}) {
  const query = { limit: MY_APPS_PAGE, ...(more && state.myAppsCursor ? { cursor: state.myAppsCursor } : {}) };
  const page = await guarded($("error"), () => api("/applications", { query }), { focus: false });
  if (!page) return;
  const shown = more ? state.myApps.length : 0;
  state.myApps = more ? [...state.myApps, ...page.items] : page.items;
  state.myAppsCursor = page.next_cursor || null;
  renderMyApps();
  if (!more) loadWindowApps();
  // Keyboard users land on the first of the new entries, not back at the top.
  if (more) $("my-apps").querySelectorAll("li a")[shown]?.focus();
}

function renderMyApps() {
  const list = $("my-apps");
  $("my-apps-more").hidden = !state.myAppsCursor;
  if (!state.myApps.length) {
    list.replaceChildren(el("li", {}, t("portal.myapps.none")));
    return;
  }
  list.replaceChildren(
    ...state.myApps.map((a) =>
      el(
        "li",
        { dataset: { id: a.id } },
        el("a", { href: `#app=${a.id}` }, loc(a.item_name)),
        el("p", { class: "meta" }, statusBadge(a.status), " ", a.applicant.name, " · ", formatDateTime(a.created_at)),
      ),
    ),
  );
}

// ------------------------------------------------------------------ one item: its materials, and apply
async function openItem(code, focus) {
  const item = await guarded($("error"), () => api(`/items/${encodeURIComponent(code)}`));
  if (!item) return;
  state.item = item;
  renderItem();
  showView(VIEWS, "item-view", { focus });
}

function renderItem() {
  const item = state.item;
  $("item-title").textContent = loc(item, "name");
  $("item-facts").replaceChildren(
    facts([
      [t("portal.item.department"), department(item)],
      [t("portal.item.category"), loc(item.category_name)],
      [t("portal.item.limit"), t("portal.limit", { p: item.promised_limit_days, s: item.statutory_limit_days })],
      [t("portal.item.fee"), item.fee],
      [t("portal.item.visits"), String(item.visits_required)],
      [t("portal.item.licence"), item.licence ? loc(item.licence, "name") : ""],
    ]),
  );
  $("item-materials").tBodies[0].replaceChildren(
    ...item.materials.map((m) =>
      el(
        "tr",
        { dataset: { slot: m.slot } },
        el("th", { scope: "row" }, loc(m, "name"), m.condition_zh ? el("p", { class: "meta" }, loc(m, "condition")) : null),
        el("td", {}, requirementBadge(m)),
        el("td", {}, m.formats.join(", ").toUpperCase()),
        el("td", {}, formatBytes(m.max_bytes)),
        el("td", { class: "num" }, m.min_count === m.max_count ? String(m.max_count) : `${m.min_count}–${m.max_count}`),
      ),
    ),
  );
  const form = $("create-form");
  // Only the kinds of applicant the item accepts can be chosen.
  for (const radio of form.elements.kind) radio.disabled = !item.applicant_kinds.includes(radio.value);
  if (!item.applicant_kinds.includes(form.elements.kind.value)) form.elements.kind.value = item.applicant_kinds[0];
  showKind();
}

function requirementBadge(req) {
  return badge(req.requirement === "required" ? "ok" : "draft", t(`req.${req.requirement}`));
}

function showKind() {
  const kind = $("create-form").elements.kind.value;
  for (const block of document.querySelectorAll("[data-kind]")) block.hidden = block.dataset.kind !== kind;
}

async function createApplication(event) {
  event.preventDefault();
  const f = event.target.elements;
  const kind = f.kind.value;
  const applicant =
    kind === "enterprise"
      ? { kind, uscc: f.uscc.value.trim().toUpperCase(), name: f.enterprise_name.value.trim() }
      : { kind, id_number: f.id_number.value.trim().toUpperCase(), name: f.person_name.value.trim() };
  const contact = {
    name: f.contact_name.value.trim() || null,
    phone: f.contact_phone.value.trim() || null,
    email: f.contact_email.value.trim() || null,
  };
  const created = await guarded($("create-error"), () =>
    api("/applications", { method: "POST", body: { item_code: state.item.code, applicant, contact } }),
  );
  if (!created) return;
  announce(t("portal.created"));
  go(`app=${created.id}`);
}

// ------------------------------------------------------------------ one application
async function openApp(id, focus) {
  const app = await guarded($("error"), () => api(`/applications/${id}`));
  if (!app) return;
  if (state.app?.id !== id) {
    state.licence = null;
    state.review = undefined;
    state.notice = null;
    state.seen = new Map(app.materials.map((m) => [m.upload_id, m.status]));
  }
  state.app = app;
  // The item as the application pinned it (its catalogue version): its own material list.
  const pinned = { version: app.catalogue_version };
  if (state.appItem?.code !== app.item_code || state.appItemVersion !== app.catalogue_version) {
    state.appItem = await guarded($("error"), () => api(`/items/${app.item_code}`, { query: pinned }));
    state.appItemVersion = app.catalogue_version;
  }
  renderSlots();
  await renderApp();
  showView(VIEWS, "app-view", { focus });
  keepWatching();
}

/** Poll while something is expected to change: a file being processed, a decision, a licence. */
function keepWatching() {
  if (state.poll) return;
  state.poll = poller(async () => {
    if (!state.app || $("app-view").hidden) return;
    const fresh = await api(`/applications/${state.app.id}`).catch(() => null);
    if (!fresh) return;
    await apply(fresh);
    if (!waiting(fresh)) {
      state.poll?.stop();
      state.poll = null;
    }
  }, 1500);
}

function strip(app) {
  // Presigned links change on every read; they are not a change of the application.
  return { ...app, materials: app.materials.map(({ download_url, ...rest }) => rest) };
}

function waiting(app) {
  if (app.materials.some((m) => m.status === "awaiting_upload" || m.status === "processing")) return true;
  if (["submitted", "accepted"].includes(app.status)) return true;
  return app.status === "approved" && !state.licence;
}

function announceChanges(before, after) {
  const messages = [];
  if (before.status !== after.status) messages.push(`${t("portal.app.status")}: ${t(`status.${after.status}`)}`);
  for (const m of after.materials) {
    if (state.seen.get(m.upload_id) !== m.status && m.status !== "awaiting_upload") {
      messages.push(t("mat.changed", { slot: loc(m.slot_name) || m.slot, status: t(`material.${m.status}`) }));
    }
    state.seen.set(m.upload_id, m.status);
  }
  if (messages.length) announce(messages.join("；"));
}

/** The upload controls, once per application (re-rendering them would lose focus and progress). */
function renderSlots() {
  const editable = EDITABLE.includes(state.app.status);
  const requirements = state.appItem?.materials || [];
  // A language switch redraws the slots: keep what was typed into the e-licence forms, and their errors.
  const typed = new Map(
    [...document.querySelectorAll("#slots form.elicence")].map((f) => [
      f.dataset.slot,
      { value: f.elements.licence_id.value, error: f.querySelector(".error")._error },
    ]),
  );
  $("slots").replaceChildren(
    ...requirements.map((req) => {
      const formats = req.formats.join(", ").toUpperCase();
      const input = editable
        ? el("input", {
            type: "file",
            id: `file-${req.slot}`,
            accept: req.content_types.join(","),
            multiple: req.max_count > 1,
            "aria-describedby": `hint-${req.slot}`,
            onchange: (event) => uploadFiles(req, event.target),
          })
        : null;
      return el(
        "div",
        { class: "slot", id: `slot-${req.slot}`, dataset: { slot: req.slot } },
        el("h4", {}, loc(req, "name"), " ", requirementBadge(req)),
        editable ? el("label", { for: `file-${req.slot}` }, t("portal.upload", { name: loc(req, "name") })) : null,
        input,
        el("p", { class: "hint", id: `hint-${req.slot}` }, t("portal.upload.hint", { formats, size: formatBytes(req.max_bytes) })),
        el("div", { id: `progress-${req.slot}`, class: "progress", hidden: true }),
        editable && takesElicence(req) ? elicenceForm(req, typed.get(req.slot)) : null,
        el("ul", { class: "materials", id: `mats-${req.slot}` }),
      );
    }),
  );
}

// ------------------------------------------------------------------ e-licence reuse (免提交)
/**
 * Whether the slot can be filled with an e-licence of ours: `elicence_type_code` names a type of this
 * bureau's registry. A slot replaceable only through another authority's sharing service (the business
 * licence) has none, and gets no form.
 */
function takesElicence(req) {
  return req.elicence_replaceable === true && Boolean(req.elicence_type_code);
}

/** The name of the licence type the slot takes, when the API tells it and the item issues that type. */
function elicenceTypeName(req) {
  const licence = state.appItem?.licence;
  return req.elicence_type_code && licence?.type_code === req.elicence_type_code ? loc(licence, "name") : null;
}

function elicenceForm(req, kept) {
  const id = `elicence-${req.slot}`;
  const type = elicenceTypeName(req);
  const input = el("input", {
    type: "text",
    id,
    name: "licence_id",
    autocomplete: "off",
    spellcheck: "false",
    maxlength: "200",
    "data-field": "licence_id",
    "data-hint": `${id}-hint`,
    "aria-describedby": `${id}-hint`,
  });
  const error = el("div", { id: `${id}-error`, class: "error", role: "alert", tabindex: "-1", hidden: true });
  const form = el(
    "form",
    { class: "elicence", id: `${id}-form`, novalidate: true, "aria-labelledby": `${id}-title`, dataset: { slot: req.slot } },
    el("h5", { id: `${id}-title` }, t("portal.elicence")),
    el("label", { for: id }, t("portal.elicence.id")),
    input,
    el("p", { class: "hint", id: `${id}-hint` }, type ? t("portal.elicence.hint.type", { type }) : t("portal.elicence.hint")),
    error,
    el("button", { type: "submit", class: "secondary" }, t("portal.elicence.submit")),
    el("span", { class: "meta busy", id: `${id}-busy`, hidden: true }, t("portal.elicence.busy")),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    attachElicence(req, form);
  });
  if (kept) {
    input.value = kept.value;
    if (kept.error) showError(error, kept.error);
  }
  return form;
}

async function attachElicence(req, form) {
  if (form.getAttribute("aria-busy") === "true") return;
  const input = form.elements.licence_id;
  const button = form.querySelector("button[type='submit']");
  const error = form.querySelector(".error");
  // aria-disabled, not disabled: the focused button or field keeps focus while the licence is checked.
  form.setAttribute("aria-busy", "true");
  button.setAttribute("aria-disabled", "true");
  input.readOnly = true;
  form.querySelector(".busy").hidden = false;
  announce(t("portal.elicence.busy"));
  const path = `/applications/${state.app.id}/materials/${req.slot}/elicence`;
  const attached = await guarded(error, () => api(path, { method: "POST", body: { licence_id: input.value.trim() } }));
  form.removeAttribute("aria-busy");
  button.removeAttribute("aria-disabled");
  input.readOnly = false;
  form.querySelector(".busy").hidden = true;
  if (!attached) {
    announce(""); // "checking…" is over; the alert in the form says why it failed, and has focus
    return;
  }
  input.value = "";
  await refreshApp();
  announce(t("portal.elicence.done", { name: loc(req, "name") })); // after the refresh's own "catalogued"
}

async function uploadFiles(req, input) {
  const files = [...input.files];
  state.uploading.add(req.slot);
  try {
    for (const file of files) await uploadOne(req, file);
  } finally {
    state.uploading.delete(req.slot);
  }
  input.value = "";
  await refreshApp();
  keepWatching();
}

async function uploadOne(req, file) {
  const box = $(`progress-${req.slot}`);
  const bar = el("progress", { max: "100", value: "0", "aria-label": file.name });
  const text = el("span", { class: "meta" }, " ", t("portal.uploading", { file: file.name, pct: 0 }));
  box.replaceChildren(bar, text);
  box.hidden = false;
  const done = await guarded($("app-error"), async () => {
    const ticket = await api(`/applications/${state.app.id}/materials/${req.slot}/uploads`, {
      method: "POST",
      body: { filename: file.name, content_type: file.type || guessType(file.name), size: file.size },
    });
    await uploadToStorage(ticket, file, (fraction) => {
      const pct = Math.round(fraction * 100);
      bar.value = pct;
      text.textContent = ` ${t("portal.uploading", { file: file.name, pct })}`;
    });
    return ticket;
  });
  if (done) {
    text.textContent = ` ${t("portal.uploaded", { file: file.name })}`;
    announce(t("portal.uploaded", { file: file.name }));
  } else {
    box.hidden = true;
  }
}

const TYPES = {
  pdf: "application/pdf",
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  tif: "image/tiff",
  tiff: "image/tiff",
};

function guessType(name) {
  // Some systems give no type for a file; storage checks the real type anyway.
  return TYPES[name.split(".").pop().toLowerCase()] || "application/octet-stream";
}

async function refreshApp() {
  const fresh = await guarded($("app-error"), () => api(`/applications/${state.app.id}`), { focus: false });
  if (fresh) await apply(fresh, { force: true });
}

/** Take a fresh read of the application: announce what changed and redraw what needs it. */
async function apply(fresh, { force = false } = {}) {
  announceChanges(state.app, fresh);
  const slotsChanged = EDITABLE.includes(fresh.status) !== EDITABLE.includes(state.app.status);
  const changed = JSON.stringify(strip(fresh)) !== JSON.stringify(strip(state.app));
  state.app = fresh;
  if (slotsChanged) renderSlots(); // upload controls come and go with the status
  if (force || changed || slotsChanged || (fresh.licence_id && !state.licence)) await renderApp();
}

async function renderApp() {
  const app = state.app;
  $("app-title").textContent = t("portal.app", { item: loc(app.item_name) });
  const due = app.deadline
    ? [t("portal.app.deadline"), formatDateTime(app.deadline.due)]
    : [t("portal.app.acceptance.due"), formatDateTime(app.acceptance_due?.due)];
  $("app-facts").replaceChildren(
    facts([
      [t("portal.app.status"), el("span", { id: "app-status", dataset: { status: app.status } }, statusBadge(app.status))],
      [t("portal.app.id"), app.id],
      [t("portal.app.applicant"), `${app.applicant.name}（${app.applicant.code}）`],
      channelFact(app),
      [t("portal.app.submitted"), formatDateTime(app.submitted_at)],
      due,
    ]),
  );
  await renderClock(app, $("app-clock")); // paused since …, extended by …, the due date now
  renderReasons(app);
  renderMaterials(app);
  const submit = $("submit-app");
  submit.hidden = !app.allowed_actions.includes("submit");
  submit.textContent = t(app.status === "correction_requested" ? "portal.resubmit" : "portal.submit");
  $("withdraw-app").hidden = !app.allowed_actions.includes("withdraw");
  if (!EDITABLE.includes(app.status)) state.notice = null;
  renderNotice();
  $("audit").replaceChildren(...auditList(app.audit_trail));
  await renderLicence(app);
  await renderReview(app);
}

function renderReasons(app) {
  const box = $("app-reasons");
  box.replaceChildren();
  const list = (title, reasons) =>
    el("div", { class: "notice" }, el("h3", {}, title), el("ul", {}, reasons.map((r) => el("li", {}, loc(r)))));
  if (app.status === "correction_requested" && app.correction_reasons.length) {
    box.append(list(t("portal.correction"), app.correction_reasons));
  }
  if (app.status === "rejected" && app.decision_reasons.length) {
    box.append(list(t("portal.decision.reasons"), app.decision_reasons));
  }
  if (app.comment && FINISHED.includes(app.status)) box.append(el("p", {}, t("portal.comment", { text: app.comment })));
}

function renderMaterials(app) {
  const editable = EDITABLE.includes(app.status);
  for (const list of document.querySelectorAll("#slots .materials")) {
    const slot = list.id.slice("mats-".length);
    const mine = app.materials.filter((m) => m.slot === slot);
    // The progress line has done its job once nothing in the slot is on its way any more.
    const progress = $(`progress-${slot}`);
    const busy = state.uploading.has(slot) || mine.some((m) => m.status === "awaiting_upload" || m.status === "processing");
    if (!busy) progress.hidden = true;
    list.replaceChildren(
      ...(mine.length
        ? mine.map((m) => materialCard(m, { onRemove: editable ? removeMaterial : null, renew: renewFrom(api, app.id) }))
        : [el("li", { class: "meta" }, t("mat.none"))]),
    );
  }
}

async function removeMaterial(m) {
  const ok = await guarded($("app-error"), () =>
    api(`/applications/${state.app.id}/materials/${m.slot}/uploads/${m.upload_id}`, { method: "DELETE" }).then(() => true),
  );
  if (!ok) return;
  announce(t("mat.removed", { name: materialName(m) }));
  await refreshApp();
  $(`file-${m.slot}`)?.focus();
}

async function submitApp() {
  state.notice = null;
  renderNotice();
  clearError($("app-error"));
  try {
    await api(`/applications/${state.app.id}/submit`, { method: "POST" });
    announce(t("portal.submitted"));
    await refreshApp();
    keepWatching();
  } catch (exc) {
    if (exc.code === "materials_incomplete") {
      state.notice = exc.body;
      renderNotice();
      $("notice").focus();
    } else {
      showError($("app-error"), exc, { focus: true });
    }
  }
}

/** The one-time notice (一次性告知): every problem at once, each linked to its upload control. */
function renderNotice() {
  const box = $("notice");
  const notice = state.notice;
  box.hidden = !notice;
  if (!notice) return;
  $("notice-title").textContent = `${t("portal.notice")}（${notice.details.length}）`;
  $("notice-message").textContent = loc(notice.message);
  $("notice-list").replaceChildren(
    ...notice.details.map((d) => {
      const slot = (d.field || "").startsWith("materials.") ? d.field.slice("materials.".length) : null;
      const target = slot && $(`file-${slot}`);
      const text = loc(d);
      const body = target
        ? el("a", { href: `#file-${slot}`, onclick: (event) => { event.preventDefault(); target.focus(); } }, text)
        : text;
      return el("li", { dataset: { code: d.code, field: d.field || "" } }, body);
    }),
  );
}

async function withdrawApp() {
  if (!window.confirm(t("portal.withdraw.confirm"))) return;
  const path = `/applications/${state.app.id}/withdraw`;
  const done = await guarded($("app-error"), () => api(path, { method: "POST", body: {} }));
  if (!done) return;
  announce(t("portal.withdrawn"));
  await refreshApp();
}

// ------------------------------------------------------------------ licence
async function loadLicence(id) {
  const licence = await guarded($("app-error"), () => api(`/licences/${id}`), { focus: false });
  if (licence) {
    const first = !state.licence;
    state.licence = licence;
    if (first) announce(t("portal.licence.ready"));
  }
}

async function renderLicence(app) {
  const box = $("licence-box");
  box.hidden = app.status !== "approved";
  if (box.hidden) return;
  const body = $("licence-body");
  if (!app.licence_id) {
    body.replaceChildren(el("p", { id: "licence-waiting" }, t("portal.licence.waiting")));
    return;
  }
  if (state.licence?.licence_id !== app.licence_id) await loadLicence(app.licence_id);
  const lic = state.licence;
  if (!lic) return;
  const download = el(
    "a",
    { id: "licence-download", href: lic.download_url, target: "_blank", rel: "noopener", type: "application/pdf" },
    t("portal.licence.download"),
  );
  renewable(download, async () => {
    await loadLicence(lic.licence_id);
    return state.licence.download_url;
  });
  body.replaceChildren(
    facts([
      [t("portal.licence.number"), el("span", { id: "licence-number" }, lic.metadata.number || "")],
      [t("portal.licence.id"), el("code", { id: "licence-id" }, lic.licence_id)],
      [t("portal.licence.status"), el("span", { id: "licence-status", dataset: { status: lic.status } }, licenceBadge(lic))],
      [t("portal.licence.issued"), formatDate(lic.metadata.issue_date)],
    ]),
    el("p", {}, download, " · ", el("a", { href: "../verify/index.html", id: "licence-verify" }, t("portal.licence.verify"))),
  );
}

function licenceBadge(lic) {
  return badge(lic.status, lang() === "zh" ? lic.status_zh : lic.status_en);
}

// ------------------------------------------------------------------ rating (好差评)
async function renderReview(app) {
  const box = $("review-box");
  box.hidden = !FINISHED.includes(app.status);
  if (box.hidden) return;
  if (state.review === undefined) {
    try {
      state.review = await api(`/applications/${app.id}/review`);
    } catch (exc) {
      if (exc.code !== "review_not_found") return showError($("app-error"), exc);
      state.review = null;
    }
  }
  const body = $("review-body");
  if (state.review) {
    body.replaceChildren(reviewSummary(state.review));
    return;
  }
  if (body.querySelector("form")) return; // keep what the person has chosen so far
  body.replaceChildren(reviewForm());
}

function reviewSummary(review) {
  const thanks = el("p", {}, t("portal.review.thanks", { level: loc(review.level_name) }));
  const out = el("div", { id: "review-done", class: "success", dataset: { level: review.level } }, thanks);
  if (review.case) {
    const due = formatDateTime(review.case.deadline.due);
    out.append(el("p", {}, t("portal.review.case", { status: loc(review.case.status_name), due })));
    if (review.case.response) out.append(el("p", {}, t("portal.review.response", { text: review.case.response })));
  }
  return out;
}

function reviewForm() {
  // Text via data-i18n, so a language switch relabels the form without losing the choices made.
  const i18n = (key) => ({ "data-i18n": key });
  const error = el("div", { id: "review-error", class: "error", role: "alert", tabindex: "-1", hidden: true });
  const form = el(
    "form",
    { id: "review-form", novalidate: true },
    el(
      "fieldset",
      { "data-field": "level" },
      el("legend", i18n("portal.review.level")),
      LEVELS.map((level) =>
        el(
          "label",
          { class: "choice" },
          el("input", { type: "radio", name: "level", value: level }),
          " ",
          el("span", i18n(`level.${level}`)),
        ),
      ),
    ),
    el(
      "fieldset",
      {},
      el("legend", i18n("portal.review.indicators")),
      el(
        "div",
        { class: "row" },
        INDICATORS.map((code) =>
          el(
            "div",
            {},
            el("label", { for: `ind-${code}`, ...i18n(`indicator.${code}`) }),
            el(
              "select",
              { id: `ind-${code}`, name: code, "data-field": `indicators.${code}` },
              SCORES.map((n) => el("option", { value: n }, String(n))),
            ),
          ),
        ),
      ),
    ),
    el("label", { for: "review-comment", ...i18n("portal.review.comment") }),
    el("textarea", { id: "review-comment", name: "comment", "data-field": "comment" }),
    error,
    el("div", { class: "actions" }, el("button", { type: "submit", ...i18n("portal.review.submit") })),
  );
  applyStatic(form);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const f = form.elements;
    const indicators = Object.fromEntries(INDICATORS.map((code) => [code, Number(f[code].value)]));
    const body = { level: f.level.value || null, indicators, comment: f.comment.value.trim() || null };
    const review = await guarded(error, () => api(`/applications/${state.app.id}/review`, { method: "POST", body }));
    if (!review) return;
    state.review = review;
    $("review-body").replaceChildren(reviewSummary(review));
    announce(t("portal.review.thanks", { level: loc(review.level_name) }));
    $("review-done").setAttribute("tabindex", "-1");
    $("review-done").focus();
  });
  return form;
}

// ------------------------------------------------------------------ start
function rerender() {
  renderCategories();
  if (!$("home-view").hidden) {
    renderItems();
    renderMyApps();
  }
  if (!$("item-view").hidden && state.item) renderItem();
  if (!$("app-view").hidden && state.app) {
    renderSlots();
    renderApp();
  }
}

startPage({
  name: "portal",
  role: "applicant",
  ready: async (who, fresh) => {
    $("search-form").addEventListener("submit", (event) => {
      event.preventDefault();
      loadItems();
    });
    $("category").addEventListener("change", loadItems);
    $("create-form").addEventListener("submit", createApplication);
    $("create-form").addEventListener("change", (event) => event.target.name === "kind" && showKind());
    $("submit-app").addEventListener("click", submitApp);
    $("withdraw-app").addEventListener("click", withdrawApp);
    $("my-apps-more").addEventListener("click", () => loadMyApps({ more: true }));
    window.addEventListener("hashchange", () => route());
    document.addEventListener("langchange", rerender);
    route({ focus: fresh });
    loadCategories();
    startInbox();
  },
});
