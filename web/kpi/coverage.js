// The catalogue's coverage of the bureau's listed items (GET /stats `coverage`): per category and in
// total, e.g. 10 / 116.

import { loc, t } from "../shared/i18n.js";
import { $, el, percent } from "../shared/ui.js";

const count = (n) => (n === null || n === undefined ? "—" : String(n));

function row(key, label, figures) {
  return el(
    "tr",
    { dataset: { category: key } },
    el("th", { scope: "row" }, label),
    el("td", { class: "num", dataset: { figure: "catalogued" } }, count(figures.catalogued)),
    el("td", { class: "num", dataset: { figure: "listed" } }, count(figures.listed)),
    el("td", { class: "num", dataset: { figure: "ratio" } }, `${count(figures.catalogued)} / ${count(figures.listed)}`),
    el("td", { class: "num", dataset: { figure: "rate" } }, percent(figures.rate)),
  );
}

/** Paint the coverage table from a KPI report (hidden when the report has none). */
export function renderCoverage(report) {
  const section = $("coverage-section");
  if (!section) return;
  const coverage = report?.coverage;
  section.hidden = !coverage;
  if (!coverage) return;
  $("coverage-version").textContent = t("kpi.coverage.version", { version: coverage.catalogue_version });
  const table = $("coverage");
  table.tBodies[0].replaceChildren(...coverage.by_category.map((c) => row(c.category, loc(c, "name"), c)));
  table.tFoot.replaceChildren(row("total", t("kpi.coverage.total"), coverage));
}
