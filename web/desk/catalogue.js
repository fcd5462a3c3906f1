// The catalogue editor (admins): versions with their audit, the current version's items, one item's
// names, limits and material list, and YAML import / export. Every save is a new version made from the
// version shown (409 when someone else saved first: the page reloads and says so).

import { api } from "../shared/api.js";
import { clearError, showError } from "../shared/errors.js";
import { loc, t } from "../shared/i18n.js";
import { startPage } from "../shared/page.js";
import { $, announce, el, formatDateTime } from "../shared/ui.js";

const REQUIREMENTS = ["required", "conditional", "optional"];

let current = null; // {version, catalogue} of the current version
let editing = null; // the item being edited (a copy of its data)

async function loadVersions() {
  const list = await api("/admin/catalogue/versions");
  $("current-line").textContent = t("cat.current", { version: list.current_version });
  $("versions").tBodies[0].replaceChildren(
    ...list.versions.map((v) =>
      el(
        "tr",
        { dataset: { version: v.version, current: v.current ? "true" : "false" } },
        el("th", { scope: "row" }, v.current ? t("cat.version.current", { version: v.version }) : String(v.version)),
        el("td", {}, formatDateTime(v.created_at)),
        el("td", {}, `${v.actor}（${t(`role.${v.actor_role}`) === `role.${v.actor_role}` ? v.actor_role : t(`role.${v.actor_role}`)}）`),
        el("td", { class: "summary" }, loc(v.summary), v.comment ? el("span", { class: "meta" }, ` — ${v.comment}`) : null),
        el(
          "td",
          {},
          el(
            "button",
            { type: "button", class: "secondary", dataset: { export: v.version }, onclick: () => exportVersion(v.version) },
            t("cat.export", { version: v.version }),
          ),
        ),
      ),
    ),
  );
  return list.current_version;
}

async function loadCurrent(version) {
  const detail = await api(`/admin/catalogue/versions/${version}`);
  current = { version, catalogue: detail.catalogue };
  $("items").tBodies[0].replaceChildren(
    ...current.catalogue.items.map((item) =>
      el(
        "tr",
        { dataset: { code: item.code } },
        el("td", {}, el("code", {}, item.code)),
        el("th", { scope: "row" }, loc(item, "name")),
        el("td", { class: "num" }, `${item.statutory_limit_days} / ${item.promised_limit_days}`),
        el("td", { class: "num" }, String(item.materials.length)),
        el(
          "td",
          {},
          el(
            "button",
            { type: "button", class: "secondary", dataset: { edit: item.code }, onclick: () => openEditor(item.code) },
            t("cat.edit"),
          ),
        ),
      ),
    ),
  );
}

async function reload() {
  clearError($("error"));
  try {
    await loadCurrent(await loadVersions());
  } catch (exc) {
    showError($("error"), exc, { focus: true });
  }
}

function materialTypes() {
  return (current?.catalogue.material_types || []).filter((m) => m.is_material !== false);
}

function materialRow(material, index) {
  const input = (name, attrs = {}) =>
    el("input", { name: `m-${name}`, value: material[name] ?? "", "aria-label": t(`cat.m.${name}`), dataset: { field: `materials[${index}].${name}` }, ...attrs });
  const requirement = el(
    "select",
    { name: "m-requirement", "aria-label": t("cat.m.requirement"), dataset: { field: `materials[${index}].requirement` } },
    ...REQUIREMENTS.map((r) => el("option", { value: r, selected: material.requirement === r }, t(`cat.req.${r}`))),
  );
  const isNew = !material._existing;
  const type = isNew
    ? el(
        "select",
        { name: "m-material_type", "aria-label": t("cat.m.type") },
        ...materialTypes().map((m) => el("option", { value: m.code, selected: m.code === material.material_type }, loc(m, "name"))),
      )
    : el("span", {}, material.material_type);
  const row = el(
    "tr",
    { dataset: { slot: material.slot || "", index } },
    el("td", {}, isNew ? input("slot", { pattern: "[a-z][a-z0-9_]*" }) : el("code", {}, material.slot)),
    el("td", {}, type),
    el("td", {}, input("name_zh")),
    el("td", {}, input("name_en")),
    el("td", {}, requirement),
    el("td", { class: "num" }, input("max_count", { type: "number", min: 1, max: 50, value: material.max_count ?? 1 })),
    el(
      "td",
      {},
      el(
        "button",
        {
          type: "button",
          class: "secondary",
          dataset: { remove: material.slot || index },
          onclick: () => {
            editing.materials.splice(index, 1);
            paintMaterials();
            announce(t("cat.m.removed"));
          },
        },
        t("cat.m.remove"),
      ),
    ),
  );
  // Keep the copy in step with what is typed.
  row.addEventListener("input", (event) => syncMaterial(index, event.target));
  row.addEventListener("change", (event) => syncMaterial(index, event.target));
  return row;
}

// Material controls are named "m-<field>": the item's own fields (name_zh …) keep their plain names.
function syncMaterial(index, control) {
  const material = editing.materials[index];
  const field = control.name?.startsWith("m-") ? control.name.slice(2) : null;
  if (!material || !field) return;
  if (field === "max_count") material.max_count = Number(control.value);
  else material[field] = control.value;
  if (field === "material_type") {
    const type = materialTypes().find((m) => m.code === control.value);
    if (type) material.formats = [...type.formats];
  }
}

function paintMaterials() {
  $("materials").tBodies[0].replaceChildren(...editing.materials.map((m, i) => materialRow(m, i)));
}

function openEditor(code) {
  const item = current.catalogue.items.find((i) => i.code === code);
  editing = structuredClone(item);
  editing.materials = editing.materials.map((m) => ({ ...m, _existing: true }));
  const form = $("item-form");
  clearError($("item-error"));
  $("editor-title").textContent = t("cat.editing", { name: loc(item, "name"), code, version: current.version });
  form.elements.name_zh.value = item.name_zh;
  form.elements.name_en.value = item.name_en;
  form.elements.statutory_limit_days.value = item.statutory_limit_days;
  form.elements.promised_limit_days.value = item.promised_limit_days;
  form.elements.fee.value = item.fee;
  form.elements.comment.value = "";
  paintMaterials();
  $("editor").hidden = false;
  $("editor-title").focus();
}

function addMaterial() {
  const first = materialTypes()[0];
  editing.materials.push({
    slot: "",
    material_type: first?.code,
    name_zh: "",
    name_en: "",
    requirement: "required",
    max_count: 1,
    formats: [...(first?.formats || ["pdf"])],
  });
  paintMaterials();
  const rows = $("materials").tBodies[0].rows;
  rows[rows.length - 1].querySelector("input")?.focus();
}

function itemToSave() {
  const form = $("item-form");
  const number = (name) => (form.elements[name].value === "" ? null : Number(form.elements[name].value));
  return {
    ...editing,
    name_zh: form.elements.name_zh.value.trim(),
    name_en: form.elements.name_en.value.trim(),
    statutory_limit_days: number("statutory_limit_days"),
    promised_limit_days: number("promised_limit_days"),
    fee: form.elements.fee.value.trim(),
    materials: editing.materials.map(({ _existing, ...m }) => m),
  };
}

async function saved(change) {
  announce(t("cat.saved", { version: change.version, summary: loc(change.summary) }));
  await reload();
}

async function save(event) {
  event.preventDefault();
  clearError($("item-error"));
  const comment = $("item-form").elements.comment.value.trim() || undefined;
  try {
    const change = await api(`/admin/catalogue/items/${encodeURIComponent(editing.code)}`, {
      method: "PUT",
      body: { base_version: current.version, item: itemToSave(), comment },
    });
    $("editor").hidden = true;
    await saved(change);
    $("versions-title").focus();
  } catch (exc) {
    showError($("item-error"), exc, { focus: true });
    if (exc.status === 409) await reload(); // someone else saved first: show their version
  }
}

async function retire() {
  clearError($("item-error"));
  const comment = $("item-form").elements.comment.value.trim() || undefined;
  try {
    const change = await api(`/admin/catalogue/items/${encodeURIComponent(editing.code)}/retire`, {
      method: "POST",
      body: { base_version: current.version, comment },
    });
    $("editor").hidden = true;
    await saved(change);
  } catch (exc) {
    showError($("item-error"), exc, { focus: true });
  }
}

async function exportVersion(version) {
  clearError($("yaml-error"));
  try {
    const exported = await api(`/admin/catalogue/versions/${version}/export`);
    $("yaml-text").value = exported.yaml;
    const link = $("yaml-download");
    if (link.href.startsWith("blob:")) URL.revokeObjectURL(link.href);
    link.href = URL.createObjectURL(new Blob([exported.yaml], { type: "application/yaml" }));
    link.download = `catalogue-v${version}.yaml`;
    link.hidden = false;
    announce(t("cat.exported", { version }));
    $("yaml-title").focus();
  } catch (exc) {
    showError($("yaml-error"), exc, { focus: true });
  }
}

async function importYaml(event) {
  event.preventDefault();
  clearError($("yaml-error"));
  try {
    const change = await api("/admin/catalogue/import", {
      method: "POST",
      body: { base_version: current.version, yaml: $("yaml-text").value },
    });
    await saved(change);
  } catch (exc) {
    showError($("yaml-error"), exc, { focus: true });
    if (exc.status === 409) await reload();
  }
}

startPage({
  name: "desk",
  role: "admin",
  ready: async (who, fresh) => {
    $("item-form").addEventListener("submit", save);
    $("add-material").addEventListener("click", addMaterial);
    $("retire-item").addEventListener("click", retire);
    $("close-editor").addEventListener("click", () => {
      $("editor").hidden = true;
      $("items-title").focus();
    });
    $("yaml-form").addEventListener("submit", importYaml);
    $("yaml-file").addEventListener("change", async (event) => {
      const file = event.target.files[0];
      if (file) $("yaml-text").value = await file.text();
    });
    document.addEventListener("langchange", () => reload());
    if (fresh) $("versions-title").focus();
    await reload();
  },
});
