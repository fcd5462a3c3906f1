// What every page does first: header with navigation and language switch, sign-in, then the page.

import { completeHostedSignIn, session, signInHosted, signInLocal, signOut, usesHostedUi } from "./auth.js";
import { ApiError, clearError, showError } from "./errors.js";
import { applyStatic, lang, setLang, t } from "./i18n.js";
import { $, announce, el } from "./ui.js";

const PAGES = [
  ["portal", "nav.portal", "../portal/index.html"],
  ["desk", "nav.desk", "../desk/index.html"],
  ["kpi", "nav.kpi", "../kpi/index.html"],
  ["verify", "nav.verify", "../verify/index.html"],
];

function header(current) {
  const root = $("site-header");
  const nav = el(
    "nav",
    { "aria-label": t("nav.label"), "data-i18n-attr": "aria-label:nav.label" },
    el(
      "ul",
      {},
      el("li", {}, el("a", { href: "../index.html", "data-i18n": "nav.home" }, t("nav.home"))),
      PAGES.map(([name, key, href]) =>
        el("li", {}, el("a", { href, "data-i18n": key, "aria-current": name === current ? "page" : null }, t(key))),
      ),
    ),
  );
  const switcher = el("button", { type: "button", id: "lang-switch", class: "secondary" });
  const paintSwitch = () => {
    switcher.textContent = t("lang.switch");
    switcher.lang = lang() === "zh" ? "en" : "zh";
  };
  paintSwitch();
  switcher.addEventListener("click", () => {
    setLang(lang() === "zh" ? "en" : "zh");
    paintSwitch();
    switcher.focus();
  });
  const signOutButton = el(
    "button",
    { type: "button", id: "sign-out", class: "secondary", hidden: true, "data-i18n": "sign.out" },
    t("sign.out"),
  );
  signOutButton.addEventListener("click", () => {
    signOut();
    window.location.reload();
  });
  root.replaceChildren(
    el("p", { class: "brand" }, el("a", { href: "../index.html", "data-i18n": "site.name" }, t("site.name"))),
    nav,
    el("div", { class: "tools" }, el("span", { id: "who" }), signOutButton, switcher),
  );
}

function roleName(groups) {
  const role = ["admin", "reviewer", "clerk", "applicant"].find((g) => groups.includes(g)) || "applicant";
  return t(`role.${role}`);
}

function showWho(who) {
  $("who").textContent = who ? t("signed.in.as", { name: who.name, role: roleName(who.groups) }) : "";
  $("sign-out").hidden = !who;
}

function signInView(defaultRole, needRole, onSignedIn) {
  const view = $("signin-view");
  const error = el("div", { id: "signin-error", class: "error", role: "alert", tabindex: "-1", hidden: true });
  const need = needRole ? el("p", { class: "notice", id: "signin-need", dataset: { role: needRole } }) : null;
  const i18n = (key) => ({ "data-i18n": key });
  let form;
  if (usesHostedUi()) {
    const go = el("button", { type: "button", id: "signin-hosted", onclick: () => signInHosted(), ...i18n("signin.hosted") });
    form = el("div", {}, go);
  } else {
    const radio = (role) =>
      el(
        "label",
        { class: "choice" },
        el("input", { type: "radio", name: "role", value: role, checked: role === defaultRole }),
        " ",
        el("span", i18n(`role.${role}`)),
      );
    form = el(
      "form",
      { id: "signin-form", novalidate: true },
      el("p", { class: "hint", ...i18n("signin.local.hint") }),
      el("label", { for: "signin-name", ...i18n("signin.name") }),
      el("input", { id: "signin-name", name: "name", autocomplete: "name", required: true, "data-field": "name" }),
      el("fieldset", {}, el("legend", i18n("signin.role")), radio("applicant"), radio("reviewer"), radio("admin"), radio("clerk")),
      error,
      el("button", { type: "submit", ...i18n("signin.submit") }),
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearError(error);
      const name = form.elements.name.value.trim();
      if (!name) {
        const missing = { code: "name_missing", message: { key: "signin.name.missing" }, details: [] };
        showError(error, new ApiError(422, missing), { focus: true });
        return;
      }
      try {
        onSignedIn(await signInLocal(name, form.elements.role.value));
      } catch (exc) {
        showError(error, exc instanceof ApiError ? exc : new ApiError(0, null), { focus: true });
      }
    });
  }
  const title = el("h2", { id: "signin-title", tabindex: "-1", ...i18n("signin.title") });
  view.replaceChildren(...[title, need, usesHostedUi() ? error : null, form].filter(Boolean));
  paintNeed();
  applyStatic(view);
  return error;
}

function paintNeed() {
  const need = $("signin-need");
  if (need) need.textContent = t("signin.need.role", { role: t(`role.${need.dataset.role}`) });
}

/**
 * Start a page: `role` is the group it needs ("applicant" or "reviewer"; admins may use reviewer
 * pages); `ready(who, fresh)` runs once someone with that role is signed in (fresh: just now, through
 * the form, so the page should move focus to its first heading).
 */
export async function startPage({ name, role, ready }) {
  applyStatic(document);
  header(name);
  // The skip link moves focus only: its "#main" must not be taken for a view in the URL fragment.
  document.querySelector(".skip")?.addEventListener("click", (event) => {
    event.preventDefault();
    $("main").focus();
  });
  const app = $("app-root");
  // A service-window clerk applies on the applicant's behalf through the applicant's pages.
  const stands = { reviewer: "admin", applicant: "clerk" };
  const allowed = (who) => who && (who.groups.includes(role) || who.groups.includes(stands[role]));

  let started = false;
  const begin = (who, fresh) => {
    // Signed in again after the token expired: start over cleanly, with the new token.
    if (started) return window.location.reload();
    started = true;
    showWho(who);
    $("signin-view").hidden = true;
    app.hidden = false;
    if (fresh) announce(t("signin.done"));
    ready(who, fresh);
  };

  const ask = (needRole) => {
    showWho(session());
    app.hidden = true;
    $("signin-view").hidden = false;
    const error = signInView(role, needRole, (who) => (allowed(who) ? begin(who, true) : ask(role)));
    const first = $("signin-name") || $("signin-hosted");
    if (first) first.focus();
    return error;
  };

  document.addEventListener("onestop:signed-out", () => {
    const error = ask(null);
    showError(error, new ApiError(401, null));
  });
  document.addEventListener("langchange", () => {
    showWho(session());
    paintNeed();
    $("status").textContent = ""; // a past announcement, in the other language
  });

  let hostedError = null;
  try {
    await completeHostedSignIn();
  } catch (exc) {
    hostedError = exc.message === "state" ? { key: "signin.state.mismatch" } : { zh: exc.message, en: exc.message };
  }
  const who = session();
  if (allowed(who)) {
    begin(who, false);
    return;
  }
  const error = ask(who ? role : null);
  if (hostedError) showError(error, new ApiError(401, { code: "signin_failed", message: hostedError, details: [] }));
}
