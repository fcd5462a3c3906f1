// The landing page: language switch and static texts. A file, not an inline script: the pages' CSP
// (template.yaml, WebSecurityHeaders) runs no inline script.
import { applyStatic, lang, setLang, t } from "./shared/i18n.js";
const button = document.getElementById("lang-switch");
const paint = () => {
  button.textContent = t("lang.switch");
  button.lang = lang() === "zh" ? "en" : "zh";
};
button.addEventListener("click", () => {
  setLang(lang() === "zh" ? "en" : "zh");
  paint();
});
applyStatic(document);
paint();
