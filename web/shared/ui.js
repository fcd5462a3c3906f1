// Small DOM helpers shared by the pages. Text from the server only ever goes in as textContent.

import { lang, t } from "./i18n.js";

/** el("li", {class: "x", dataset: {a: 1}, onclick}, "text", childNode, …) */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export const $ = (id) => document.getElementById(id);

/** A polite status message for screen readers and sighted people alike. */
export function announce(message) {
  const status = $("status");
  if (!status) return;
  // Re-setting the same text would not be announced again; clear first.
  status.textContent = "";
  window.setTimeout(() => (status.textContent = message), 30);
}

/** Show one view (by id) of a set, hide the others, and move focus to its heading. */
export function showView(ids, id, { focus = true } = {}) {
  for (const other of ids) $(other).hidden = other !== id;
  if (focus) {
    const heading = $(id).querySelector("h2[tabindex], h2");
    if (heading) {
      if (!heading.hasAttribute("tabindex")) heading.setAttribute("tabindex", "-1");
      heading.focus();
    }
  }
}

const ZONE = "Asia/Shanghai"; // deadlines are counted on the bureau's working days

export function formatDateTime(iso) {
  if (!iso) return "";
  const locale = lang() === "zh" ? "zh-CN" : "en-GB";
  return new Date(iso).toLocaleString(locale, { timeZone: ZONE, dateStyle: "medium", timeStyle: "short" });
}

export function formatDate(iso) {
  if (!iso) return "";
  const locale = lang() === "zh" ? "zh-CN" : "en-GB";
  const date = iso.length === 10 ? new Date(`${iso}T12:00:00+08:00`) : new Date(iso);
  return date.toLocaleDateString(locale, { timeZone: ZONE, dateStyle: "medium" });
}

export function formatBytes(n) {
  if (n >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(n % (1024 * 1024) ? 1 : 0)} MB`;
  if (n >= 1024) return `${Math.round(n / 1024)} KB`;
  return `${n} B`;
}

export function percent(rate) {
  return rate === null || rate === undefined ? "—" : `${Math.round(rate * 1000) / 10}%`;
}

/** A description list from [[term, value], …], skipping empty values. */
export function facts(rows) {
  const dl = el("dl", { class: "facts" });
  for (const [term, value] of rows) {
    if (value === undefined || value === null || value === "") continue;
    dl.append(el("dt", {}, term), el("dd", {}, value));
  }
  return dl;
}

/** A status badge; the words carry the meaning, the colour only repeats it. */
export function badge(kind, text) {
  return el("span", { class: `badge badge-${kind}` }, text);
}

export function statusBadge(status) {
  return badge(status, t(`status.${status}`));
}

/**
 * Presigned links live for minutes. Once `link` may have expired, a click asks `renew()` for a fresh
 * URL and opens that instead (the tab is opened at once, so it is not taken for a pop-up).
 */
export function renewable(link, renew, maxAgeMs = 4 * 60 * 1000) {
  const born = Date.now();
  link.addEventListener("click", async (event) => {
    if (Date.now() - born < maxAgeMs) return;
    event.preventDefault();
    const tab = window.open("", "_blank");
    const url = await renew().catch(() => null);
    if (tab && url) tab.location.href = url;
    else tab?.close();
  });
  return link;
}

/** Poll `fn` every `ms` until `stop()` is called; never two calls at once. */
export function poller(fn, ms) {
  let timer = null;
  let running = false;
  let stopped = false;
  const tick = async () => {
    if (stopped || running) return;
    running = true;
    try {
      await fn();
    } finally {
      running = false;
      if (!stopped) timer = window.setTimeout(tick, ms);
    }
  };
  timer = window.setTimeout(tick, ms);
  return {
    stop() {
      stopped = true;
      window.clearTimeout(timer);
    },
  };
}
