// KPI dashboard: GET /stats for a period (and optionally one item), as figures, charts and a table.

import { api } from "../shared/api.js";
import { clearError, showError } from "../shared/errors.js";
import { lang, loc, t } from "../shared/i18n.js";
import { startPage } from "../shared/page.js";
import { $, announce, el, formatDateTime, percent } from "../shared/ui.js";
import { barChart, ring } from "./charts.js";
import { renderChannels } from "./channels.js";
import { renderCoverage } from "./coverage.js";

const LEVELS = ["very_satisfied", "satisfied", "basically_satisfied", "dissatisfied", "very_dissatisfied"];
const TILES = [
  ["received", String],
  ["accepted", String],
  ["completed", String],
  ["approved", String],
  ["rejected", String],
  ["on_time_rate", percent],
  ["overdue", String],
  ["returned_for_correction", String],
  ["licences_issued", String],
  ["avg_working_days_to_decision", (v) => (v === null || v === undefined ? "—" : String(Math.round(v * 10) / 10))],
  ["reviews_total", String],
  ["satisfaction_rate", percent],
  ["open_bad_review_cases", String],
  ["online_share", percent],
  // The legal clock: pauses begun in the period (all procedures) and extensions approved.
  ["clock_pauses", (v) => String(Object.values(v || {}).reduce((a, b) => a + b, 0))],
  ["extensions", String],
];

let report = null;

async function loadItems() {
  try {
    const items = await api("/items", { query: { lang: lang() } });
    const select = $("item");
    const chosen = select.value;
    const options = items.items.map((i) => el("option", { value: i.code }, loc(i, "name")));
    select.replaceChildren(el("option", { value: "" }, t("kpi.item.all")), ...options);
    select.value = chosen;
  } catch (exc) {
    showError($("error"), exc);
  }
}

async function load() {
  const form = $("period-form");
  const query = { from: form.elements.from.value, to: form.elements.to.value, item: form.elements.item.value };
  clearError($("error"));
  try {
    report = await api("/stats", { query });
  } catch (exc) {
    showError($("error"), exc, { focus: true });
    return;
  }
  render();
  announce(t("kpi.loaded"));
}

function render() {
  if (!report) return;
  const totals = report.totals;
  const asof = formatDateTime(report.as_of);
  $("period-line").textContent = t("kpi.period.line", { from: report.from_date, to: report.to_date, asof });
  $("tiles").replaceChildren(
    ...TILES.map(([key, format]) =>
      el(
        "li",
        {},
        el("span", { class: "label" }, t(`kpi.${key}`)),
        el("span", { class: "value", dataset: { kpi: key } }, format(totals[key])),
      ),
    ),
  );
  renderCharts(totals);
  renderCoverage(report);
  renderChannels(report);
  $("by-item").tBodies[0].replaceChildren(
    ...report.by_item.map((row) =>
      el(
        "tr",
        { dataset: { code: row.code } },
        el("th", { scope: "row" }, loc(row, "name")),
        el("td", { class: "num" }, String(row.figures.received)),
        el("td", { class: "num" }, String(row.figures.completed)),
        el("td", { class: "num" }, percent(row.figures.on_time_rate)),
        el("td", { class: "num" }, String(row.figures.licences_issued)),
        el("td", { class: "num" }, percent(row.figures.satisfaction_rate)),
      ),
    ),
  );
  renderMaterials();
}

/** The "zero error" figure: per material type, how many catalogued materials a reviewer corrected. */
function renderMaterials() {
  const materials = report.materials;
  const note = $("materials-note");
  const table = $("by-material-type");
  const row = (figures, total) =>
    el(
      "tr",
      { dataset: { type: figures.material_type } },
      el("th", { scope: "row" }, total ? t("kpi.chart.total") : loc(figures, "name")),
      el("td", { class: "num", dataset: { figure: "catalogued" } }, String(figures.catalogued)),
      el("td", { class: "num", dataset: { figure: "corrected" } }, String(figures.corrected)),
      el("td", { class: "num", dataset: { figure: "correction_rate" } }, percent(figures.correction_rate)),
      el("td", { class: "num", dataset: { figure: "zero_error_rate" } }, percent(figures.zero_error_rate)),
      el(
        "td",
        { dataset: { figure: "field_corrections" } },
        [
          ...Object.entries(figures.field_corrections || {}).map(
            ([field, n]) => `${t(`field.${field}`) === `field.${field}` ? field : t(`field.${field}`)} ${n}`,
          ),
          ...(figures.type_corrections ? [`${t("kpi.materials.type")} ${figures.type_corrections}`] : []),
        ].join("，"),
      ),
    );
  note.hidden = Boolean(materials?.by_type?.length);
  note.textContent = materials ? t("kpi.materials.none") : t("kpi.materials.item");
  table.hidden = !materials?.by_type?.length;
  table.tBodies[0].replaceChildren(...(materials?.by_type || []).map((figures) => row(figures, false)));
  table.tFoot.replaceChildren(...(materials?.by_type?.length ? [row(materials.totals, true)] : []));
}

function plot(id, node) {
  $(id).querySelector(".plot").replaceChildren(node);
}

function renderCharts(totals) {
  const categories = report.by_category.map((c) => ({ key: c.category, label: loc(c, "name"), figures: c.figures }));
  const rows = [{ key: "total", label: t("kpi.chart.total"), figures: totals }, ...categories];
  plot(
    "chart-flow",
    barChart({
      title: t("kpi.chart.flow"),
      rows: rows.map(({ key, label, figures }) => ({
        key,
        label,
        values: { received: figures.received, completed: figures.completed },
      })),
      series: [
        { key: "received", label: t("kpi.received"), cls: "bar-received" },
        { key: "completed", label: t("kpi.completed"), cls: "bar-completed" },
      ],
    }),
  );
  const ontime = el("div", {}, ring({ title: t("kpi.chart.ontime"), rate: totals.on_time_rate, label: t("kpi.chart.total") }));
  const rated = categories.filter((c) => c.figures.on_time_rate !== null && c.figures.on_time_rate !== undefined);
  if (rated.length) {
    ontime.append(
      barChart({
        title: t("kpi.chart.ontime"),
        rows: rated.map((c) => ({ key: c.key, label: c.label, values: { on_time_rate: c.figures.on_time_rate } })),
        series: [{ key: "on_time_rate", label: t("kpi.on_time_rate"), cls: "bar-ontime" }],
        max: 1,
        format: percent,
      }),
    );
  }
  plot("chart-ontime", ontime);
  plot(
    "chart-reviews",
    barChart({
      title: t("kpi.chart.reviews"),
      rows: LEVELS.map((level) => ({
        key: level,
        label: t(`level.${level}`),
        values: { reviews: totals.reviews[level] ?? 0 },
        cls: level.includes("dissatisfied") ? "bar-review bad" : "bar-review",
      })),
      series: [{ key: "reviews", label: t("kpi.reviews_total"), cls: "bar-review" }],
    }),
  );
}

startPage({
  name: "kpi",
  role: "reviewer",
  ready: async (who, fresh) => {
    $("period-form").addEventListener("submit", (event) => {
      event.preventDefault();
      load();
    });
    document.addEventListener("langchange", () => {
      loadItems();
      render();
    });
    if (fresh) $("period-title").focus();
    await Promise.all([loadItems(), load()]);
  },
});
