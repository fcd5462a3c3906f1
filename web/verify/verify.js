// E-licence verification page: POST the PDF or a photo of the printed licence to /verify, or
// GET /verify/{id}; show each check (a photo's answer: the ticks integrity, issuer, status, registry).
// No framework. All text from the server goes in through textContent (never as HTML).
"use strict";

(function () {
  const params = new URLSearchParams(window.location.search);
  // The API lives on the same origin (local stack, API Gateway); ?api=https://… overrides it.
  const API = (params.get("api") || "").replace(/\/+$/, "");
  const MAX_BYTES = 4 * 1024 * 1024; // the verify function's own limit (VerifyLimits.max_bytes)
  const PHOTO_TYPES = ["image/jpeg", "image/png", "image/webp"]; // what POST /verify reads
  const PHOTO_SIDE = 3000; // a larger or unreadable-type photo is redrawn as a JPEG of this long side
  const TICKS = {
    integrity: ["凭证完整性", "Integrity"],
    issuer: ["签发机关", "Issuer"],
    status: ["证照状态", "Licence status"],
    registry: ["登记信息", "Registry"],
  };
  const TICK_VERDICT = { true: "pass", false: "fail", null: "unknown" };
  const MARK = { pass: "✓", fail: "✗", unknown: "?" };
  const VERDICT = {
    pass: "通过 passed",
    fail: "未通过 failed",
    unknown: "无法确认 not checked",
  };
  const FACE_ROWS = [
    ["licence_id", "证照标识", "Identifier"],
    ["name_zh", "证照名称", "Licence"],
    ["number", "证照编号", "Number"],
    ["holder_name", "持证主体", "Holder"],
    ["holder_code", "持证主体代码", "Holder code"],
    ["issuer_name", "颁发机构", "Issuing authority"],
    ["issue_date", "颁发日期", "Date of issue"],
    ["validity", "有效期限", "Validity"],
    ["status", "状态", "Status"],
    ["masked_note", "说明", "Note"],
    ["qr_host", "二维码网址主机", "QR code's link host"],
  ];

  const $ = (id) => document.getElementById(id);
  const result = $("result");

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function setStatus(zh, en) {
    const line = $("status-line");
    line.textContent = "";
    if (zh) {
      line.append(el("span", "", zh + " "), el("span", "", en));
      line.lastChild.lang = "en";
    }
  }

  function clear() {
    $("summary").textContent = "";
    $("summary").dataset.valid = "";
    $("summary").dataset.verdict = "";
    $("checks").textContent = "";
    $("face").textContent = "";
    $("face-block").hidden = true;
  }

  function busy(zh, en) {
    result.hidden = false;
    result.setAttribute("aria-busy", "true");
    clear();
    setStatus(zh, en);
  }

  function done() {
    result.setAttribute("aria-busy", "false");
    setStatus("", "");
    result.focus();
  }

  function showError(body, status) {
    done();
    const message = (body && body.message) || {};
    const summary = $("summary");
    summary.dataset.valid = "error";
    summary.append(
      el("span", "mark", "✗"),
      el("span", "", " " + (message.zh || "请求失败。") + " "),
      el("span", "", message.en || "The request failed (HTTP " + status + ")."),
    );
    summary.lastChild.lang = "en";
    for (const d of (body && body.details) || []) {
      const li = el("li", "check");
      li.dataset.verdict = "fail";
      li.append(el("p", "reason", d.zh), el("p", "reason", d.en));
      li.lastChild.lang = "en";
      $("checks").append(li);
    }
  }

  function showReport(report) {
    done();
    const summary = $("summary");
    summary.dataset.valid = report.valid ? "true" : "false";
    summary.append(
      el("span", "mark", report.valid ? "✓" : "✗"),
      el("span", "", " " + report.summary.zh + " "),
      el("span", "", report.summary.en),
    );
    summary.lastChild.lang = "en";
    for (const c of report.checks) {
      const li = el("li", "check");
      li.dataset.check = c.check;
      li.dataset.verdict = c.verdict;
      const head = el("p", "check-name");
      const mark = el("span", "mark", MARK[c.verdict] || "?");
      mark.setAttribute("aria-hidden", "true");
      const en = el("span", "", c.name.en);
      en.lang = "en";
      head.append(mark, el("span", "", " " + c.name.zh + " "), en, el("span", "verdict", "：" + VERDICT[c.verdict]));
      const reasonEn = el("p", "reason", c.reason_en);
      reasonEn.lang = "en";
      li.append(head, el("p", "reason", c.reason_zh), reasonEn);
      $("checks").append(li);
    }
    showFace(report);
  }

  function showPhoto(report) {
    done();
    const summary = $("summary");
    summary.dataset.valid = report.valid ? "true" : "false";
    summary.dataset.verdict = report.verdict;
    summary.append(
      el("span", "mark", report.valid ? "✓" : report.verdict === "off_domain" ? "⚠" : "✗"),
      el("span", "", " " + report.summary.zh + " "),
      el("span", "", report.summary.en),
    );
    summary.lastChild.lang = "en";
    for (const t of report.ticks || []) {
      const verdict = TICK_VERDICT[String(t.ok)] || "unknown";
      const li = el("li", "check");
      li.dataset.tick = t.name;
      li.dataset.verdict = verdict;
      const [zh, en] = TICKS[t.name] || [t.name, t.name];
      const head = el("p", "check-name");
      const mark = el("span", "mark", MARK[verdict]);
      mark.setAttribute("aria-hidden", "true");
      const enName = el("span", "", en);
      enName.lang = "en";
      head.append(mark, el("span", "", " " + zh + " "), enName, el("span", "verdict", "：" + VERDICT[verdict]));
      const reasonEn = el("p", "reason", t.reason_en);
      reasonEn.lang = "en";
      li.append(head, el("p", "reason", t.reason_zh), reasonEn);
      $("checks").append(li);
    }
    const facts = Object.assign({}, report.licence || report.credential || {});
    if (report.host && !report.valid) facts.qr_host = report.host;
    showFace({ licence: facts, registry: report.registry });
  }

  function showFace(report) {
    const face = Object.assign({}, report.licence || {});
    if (face.masked) {
      face.masked_note = "持证主体已部分隐藏；填写证照上的持证主体名称或代码后查询，可核对并显示完整信息。 " +
        "The holder is partly hidden; give the holder's name or code as printed to check it and see it in full.";
    }
    if (face.valid_from) face.validity = face.valid_from + " – " + (face.valid_until || "长期 long-term");
    if (report.registry) {
      const r = report.registry;
      face.status = r.status_zh + " " + r.status_en + (r.status_since ? "（" + r.status_since.slice(0, 10) + "）" : "");
    }
    const dl = $("face");
    for (const [key, zh, en] of FACE_ROWS) {
      if (!face[key]) continue;
      const dt = el("dt", "", zh + " ");
      const dtEn = el("span", "", en);
      dtEn.lang = "en";
      dt.append(dtEn);
      const dd = el("dd", "", face[key]);
      dd.dataset.field = key;
      dl.append(dt, dd);
    }
    $("face-block").hidden = dl.childElementCount === 0;
  }

  async function call(url, options) {
    let response;
    try {
      response = await fetch(url, options);
    } catch (err) {
      showError({ message: { zh: "无法连接核验服务，请检查网络后重试。", en: "Cannot reach the verification service; check the connection and retry." } }, 0);
      return;
    }
    let body = null;
    try {
      body = await response.json();
    } catch (err) {
      body = null;
    }
    if (response.ok && body && body.kind === "photo") showPhoto(body);
    else if (response.ok && body && body.checks) showReport(body);
    else showError(body, response.status);
  }

  async function verifyFile(file) {
    if (!file) return;
    if (file.type && file.type.startsWith("image/")) return verifyPhoto(file); // a photo dropped here
    if (file.size > MAX_BYTES) {
      result.hidden = false;
      clear();
      showError({ message: { zh: "文件超过4 MB，不是电子证照原件。", en: "The file is over 4 MB; it is not an original e-licence." } }, 413);
      return;
    }
    busy("正在核验 " + file.name + "…", "Verifying " + file.name + "…");
    const data = await file.arrayBuffer();
    await call(API + "/verify", {
      method: "POST",
      headers: { "Content-Type": "application/pdf", Accept: "application/json" },
      body: data,
    });
  }

  async function shrink(file) {
    // A phone's original may be over the service's 4 MB, or HEIC: redraw it as a JPEG (the browser
    // applies the EXIF orientation). What cannot be redrawn goes as it is; the service says why not.
    if (file.size <= MAX_BYTES && PHOTO_TYPES.includes(file.type)) return file;
    if (!window.createImageBitmap) return file;
    let bitmap;
    try {
      bitmap = await createImageBitmap(file);
    } catch (err) {
      return file;
    }
    const scale = Math.min(1, PHOTO_SIDE / Math.max(bitmap.width, bitmap.height));
    const canvas = document.createElement("canvas");
    canvas.width = Math.max(1, Math.round(bitmap.width * scale));
    canvas.height = Math.max(1, Math.round(bitmap.height * scale));
    canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    if (bitmap.close) bitmap.close();
    return new Promise((resolve) => canvas.toBlob((blob) => resolve(blob || file), "image/jpeg", 0.9));
  }

  async function verifyPhoto(file) {
    if (!file) return;
    busy("正在读取二维码 " + file.name + "…", "Reading the QR code in " + file.name + "…");
    const picture = await shrink(file);
    if (picture.size > MAX_BYTES) {
      showError({ message: { zh: "照片超过4 MB，请拍摄较小的照片或截图。", en: "The photo is over 4 MB; take a smaller photo or a screenshot." } }, 413);
      return;
    }
    await call(API + "/verify", {
      method: "POST",
      headers: { "Content-Type": picture.type || "application/octet-stream", Accept: "application/json" },
      body: await picture.arrayBuffer(),
    });
  }

  async function lookUp(id) {
    const text = id.trim();
    if (!text) {
      $("licence-id").focus();
      return;
    }
    busy("正在查询…", "Looking up…");
    const holder = $("holder").value.trim();
    const query = holder ? "?holder=" + encodeURIComponent(holder) : "";
    await call(API + "/verify/" + encodeURIComponent(text) + query, { headers: { Accept: "application/json" } });
  }

  $("pdf-file").addEventListener("change", (event) => verifyFile(event.target.files[0]));
  $("photo-file").addEventListener("change", (event) => verifyPhoto(event.target.files[0]));
  $("by-photo").addEventListener("submit", (event) => event.preventDefault());

  const drop = $("drop");
  ["dragenter", "dragover"].forEach((type) =>
    drop.addEventListener(type, (event) => {
      event.preventDefault();
      drop.classList.add("over");
    }),
  );
  ["dragleave", "drop"].forEach((type) => drop.addEventListener(type, () => drop.classList.remove("over")));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    const file = event.dataTransfer && event.dataTransfer.files[0];
    verifyFile(file);
  });

  $("by-file").addEventListener("submit", (event) => event.preventDefault());
  $("by-id").addEventListener("submit", (event) => {
    event.preventDefault();
    lookUp($("licence-id").value);
  });

  if (API) {
    for (const a of document.querySelectorAll('a[href="../../trust"]')) a.href = API + "/trust";
  }
  // Opened from a licence's QR code: /verify/{id} redirects here with ?id=…
  const initial = params.get("id");
  if (initial) {
    $("licence-id").value = initial;
    lookUp(initial);
  }
})();
