// The page's language: chosen once (remembered in localStorage), its words loaded, the
// page's text put in it, and the switch. The words are not in this file: the build
// (site/build) turns words.json into one file a language (words-ja.<hash>.js, words-en...),
// names them in the page's <meta name="kagiya-words-ja"> and "-en", and a page loads only
// its own language's (the other comes when someone switches).
"use strict";
const KAGIYA_STRINGS = {}; // language → words, filled by the words files

function kagiyaLang() {
  const saved = localStorage.getItem("kagiya.lang");
  if (saved === "ja" || saved === "en") return saved;
  return (navigator.language || "ja").toLowerCase().startsWith("en") ? "en" : "ja";
}

function t(key) {
  return (KAGIYA_STRINGS[kagiyaLang()] || {})[key] || key;
}

// loadWords resolves once lang's words file has run (or failed to load: the page then
// shows keys rather than not starting).
const wordsLoading = {};
function loadWords(lang) {
  if (!wordsLoading[lang]) {
    wordsLoading[lang] = new Promise((resolve) => {
      const meta = document.querySelector(`meta[name="kagiya-words-${lang}"]`);
      if (KAGIYA_STRINGS[lang] || !meta) { resolve(); return; }
      const s = document.createElement("script");
      s.src = meta.content;
      s.onload = s.onerror = () => resolve();
      document.head.append(s);
    });
  }
  return wordsLoading[lang];
}

function applyLang() {
  const lang = kagiyaLang();
  document.documentElement.lang = lang;
  document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  document.querySelectorAll("[data-i18n-label]").forEach((el) => { el.setAttribute("aria-label", t(el.dataset.i18nLabel)); });
  const title = document.querySelector("[data-i18n-title]");
  if (title) document.title = t(title.dataset.i18nTitle) + " - Kagiya";
  document.dispatchEvent(new CustomEvent("kagiya:lang"));
}

// The words start loading as soon as this script runs (after the page is parsed); a page
// starts (kagiyaReady) once the document is ready and its words are here, in the text.
const pageStarted = Promise.all([
  loadWords(kagiyaLang()),
  new Promise((resolve) => {
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", resolve);
    else resolve();
  }),
]).then(() => {
  applyLang();
  const sw = document.getElementById("lang-switch");
  if (sw) {
    sw.addEventListener("click", async () => {
      const next = kagiyaLang() === "ja" ? "en" : "ja";
      await loadWords(next);
      if (!KAGIYA_STRINGS[next]) return; // its words did not come: stay in this language
      localStorage.setItem("kagiya.lang", next);
      applyLang();
    });
  }
});

// kagiyaReady runs start once the page has started, in the order pages' scripts ask.
// eslint-disable-next-line no-unused-vars
function kagiyaReady(start) {
  pageStarted.then(start);
}
