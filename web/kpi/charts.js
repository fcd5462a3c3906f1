// Tiny inline-SVG charts (no library, nothing fetched): horizontal bars, grouped bars, and a ring.
// Every chart is role="img" with a <title> and a <desc> that states the numbers in words; each bar
// carries data-label / data-series / data-value so what it shows can be read back.

const NS = "http://www.w3.org/2000/svg";
let counter = 0;

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(NS, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

function frame(width, height, title, desc) {
  const id = `chart-${++counter}`;
  const root = svg("svg", {
    viewBox: `0 0 ${width} ${height}`,
    width: "100%",
    role: "img",
    "aria-labelledby": `${id}-t ${id}-d`,
  });
  root.append(svg("title", { id: `${id}-t` }, title), svg("desc", { id: `${id}-d` }, desc));
  return root;
}

const LABEL_W = 170;
const WIDTH = 520;
const PLOT_W = WIDTH - LABEL_W - 60;

/**
 * Rows of bars, one or more series per row: rows = [{key?, label, values: {series: number}, cls?}],
 * series = [{key, label, cls}] (a row's cls overrides the series'). `format` prints a value.
 */
export function barChart({ title, rows, series, max = null, format = String }) {
  const barH = 16;
  const rowH = series.length * (barH + 3) + 12;
  const height = rows.length * rowH + 8;
  const top = Math.max(max ?? 0, ...rows.flatMap((r) => series.map((s) => r.values[s.key] ?? 0)), 1);
  const say = (r) => series.map((s) => `${s.label} ${format(r.values[s.key] ?? 0)}`).join(", ");
  const desc = rows.map((r) => `${r.label}: ${say(r)}`).join("; ");
  const root = frame(WIDTH, height, title, desc);
  rows.forEach((row, i) => {
    const y0 = 4 + i * rowH;
    const group = svg("g", { "data-row": row.key ?? row.label });
    group.append(svg("text", { x: LABEL_W - 8, y: y0 + (rowH - 12) / 2 + 4, "text-anchor": "end" }, row.label));
    series.forEach((s, j) => {
      const value = row.values[s.key] ?? 0;
      const y = y0 + j * (barH + 3);
      const w = Math.max((value / top) * PLOT_W, value ? 2 : 0);
      const bar = svg("rect", {
        x: LABEL_W,
        y,
        width: w,
        height: barH,
        rx: 2,
        class: `bar ${row.cls || s.cls}`,
        "data-row": row.key ?? row.label,
        "data-series": s.key,
        "data-value": value,
      });
      bar.append(svg("title", {}, `${row.label} · ${s.label}: ${format(value)}`));
      group.append(bar, svg("text", { x: LABEL_W + w + 5, y: y + barH - 4 }, format(value)));
    });
    root.append(group);
  });
  root.append(svg("line", { x1: LABEL_W, x2: LABEL_W, y1: 0, y2: height, stroke: "#888" }));
  return root;
}

/** A ring showing one rate (0–1) with the figure in the middle; null draws an empty ring with "—". */
export function ring({ title, rate, label }) {
  const size = 180;
  const r = 70;
  const c = 2 * Math.PI * r;
  const shown = rate === null || rate === undefined ? "—" : `${Math.round(rate * 1000) / 10}%`;
  const root = frame(size, size, title, `${label}: ${shown}`);
  root.setAttribute("class", "ring");
  const g = svg("g", { transform: `rotate(-90 ${size / 2} ${size / 2})` });
  const circle = (attrs) => svg("circle", { cx: size / 2, cy: size / 2, r, fill: "none", "stroke-width": 22, ...attrs });
  g.append(circle({ stroke: "#e3e6ec" }));
  if (rate !== null && rate !== undefined) {
    g.append(circle({ stroke: "#16683a", class: "ring-value", "stroke-dasharray": `${c * rate} ${c}`, "data-value": rate }));
  }
  const figure = svg("text", { x: size / 2, y: size / 2 + 8, "text-anchor": "middle", class: "chart-figure" }, shown);
  root.append(g, figure);
  return root;
}
