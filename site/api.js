// Calls to /api/*: JSON in and out, the CSRF header on writes, errors as Error objects
// carrying the API's stable code and its message in the chosen language.
"use strict";
// errorText is a code's message from the error table (errors.js, generated from
// shared/errcode), for answers that carry none: a gateway's 5xx page, say.
function errorText(code) {
  const e = KAGIYA_ERRORS[code];
  return e ? e[kagiyaLang() === "en" ? "en" : "ja"] : "";
}

// formatTime is how every page gives a time: in the tenants' time zone (Japan's), with
// the zone named, one format per language (as the emails do). A table whose header names
// the zone passes zone = false.
function formatTime(iso, zone = true) {
  const d = new Date(iso);
  if (isNaN(d)) return "";
  const lang = kagiyaLang();
  const s = new Intl.DateTimeFormat(lang === "en" ? "en-GB" : "ja-JP", { timeZone: "Asia/Tokyo", year: "numeric", month: lang === "en" ? "short" : "numeric",
    day: "numeric", hour: "2-digit", minute: "2-digit" }).format(d);
  if (!zone) return s;
  return lang === "en" ? s + " JST" : s + "（日本時間）";
}

// passkeyCount says how many passkeys an account has, for the administrators' pages.
function passkeyCount(n) {
  return t(n === 1 ? "admin.passkeys.one" : "admin.passkeys").replace("{n}", n);
}

class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    const code = e.code || (status >= 500 ? "internal" : status ? "invalid_request" : "network");
    super(e.message || errorText(code) || t("error.network"));
    this.status = status;
    this.code = code;
    this.fields = e.fields || [];
  }

  // signedOut: the session is gone (401 unauthenticated). Other 401s (a wrong code, a
  // wrong password) are errors of the form that sent them, shown in place.
  get signedOut() {
    return this.status === 401 && this.code === "unauthenticated";
  }
}

// api counts the calls in flight in the root element's data-pending, so that a test can
// wait until a page's data is on it rather than for a fixed time.
async function api(method, path, body) {
  const root = document.documentElement;
  root.dataset.pending = String(Number(root.dataset.pending || 0) + 1);
  try {
    return await apiCall(method, path, body);
  } finally {
    root.dataset.pending = String(Number(root.dataset.pending) - 1);
    if (method === "GET") reloadIfOutdated();
  }
}

// Pages stay a week in the browser's cache (site/build, PageCache); a deploy reaches
// people through the API, whose every answer names the site build it belongs to
// (Kagiya-Site-Build). A page whose own build (<meta name="kagiya-build">) is not the
// API's is out of date: the browser remembers its build as old (localStorage, for every
// tab and later visit; builds are hashes, without an order, so the old ones are what is
// kept) and the page reloads itself, which asks the network for the page again, at a
// safe moment: a read has come back or the page is hidden, no call is in flight and no
// form holds input. A page of a build remembered as old reloads itself as it loads. A tab
// reloads a page of a given build once (sessionStorage): a page the network still serves
// old (between a deploy's functions and its site) does not reload again and again.
const pageBuild = (document.querySelector('meta[name="kagiya-build"]') || {}).content || "";
let outdated = false;

function oldBuilds() {
  try {
    return JSON.parse(localStorage.getItem("kagiya.builds.old")) || [];
  } catch (_) {
    return [];
  }
}

function noteBuild(apiBuild) {
  if (!apiBuild || !pageBuild) return;
  outdated = apiBuild !== pageBuild;
  const before = oldBuilds();
  let old = before.filter((b) => b !== apiBuild); // the API's build is nobody's old one
  if (outdated && !old.includes(pageBuild)) old = [pageBuild, ...old].slice(0, 10);
  if (old.join() !== before.join()) localStorage.setItem("kagiya.builds.old", JSON.stringify(old));
}

function formHasInput() {
  return [...document.querySelectorAll("input, textarea, select")].some((el) => {
    if (el.type === "checkbox" || el.type === "radio") return el.checked !== el.defaultChecked;
    if (el.tagName === "SELECT") return [...el.options].some((o) => o.selected !== o.defaultSelected);
    return el.type !== "hidden" && el.value !== el.defaultValue;
  });
}

function reloadIfOutdated() {
  if (!outdated || Number(document.documentElement.dataset.pending || 0) > 0 || formHasInput()) return;
  const once = pageBuild + " " + location.pathname;
  if (sessionStorage.getItem("kagiya.reloaded") === once) return;
  sessionStorage.setItem("kagiya.reloaded", once);
  location.reload();
}

function reloadIfOld() {
  outdated = outdated || (pageBuild !== "" && oldBuilds().includes(pageBuild));
  reloadIfOutdated();
}
reloadIfOld();
window.addEventListener("pageshow", (e) => { if (e.persisted) reloadIfOld(); });
document.addEventListener("visibilitychange", () => { if (document.hidden) reloadIfOutdated(); });

async function apiCall(method, path, body) {
  const headers = { "Accept-Language": kagiyaLang() };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const csrf = sessionStorage.getItem("kagiya.csrf");
  if (method !== "GET" && csrf) headers["X-CSRF-Token"] = csrf;
  let res;
  try {
    res = await fetch(path, { method, headers, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (_) {
    throw new ApiError(0, null);
  }
  noteBuild(res.headers.get("Kagiya-Site-Build"));
  if (res.status === 204) return null;
  let data = null;
  try { data = await res.json(); } catch (_) { /* not JSON */ }
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

// me returns the signed-in account, or sends the browser to the sign-in page.
async function me() {
  try {
    const m = await api("GET", "/api/me");
    sessionStorage.setItem("kagiya.csrf", m.csrf_token);
    if (typeof renderShell === "function") renderShell(m);
    nameConfirmFields(m.confirmation_password);
    return m;
  } catch (e) {
    if (e.signedOut) { location.replace("/index.html"); return null; }
    throw e;
  }
}

// nameConfirmFields makes every confirmation field name the password it wants: the
// sign-in password, or, where the organization asks for it, the separate confirmation
// password (確認用パスワード).
function nameConfirmFields(mode) {
  document.documentElement.dataset.confirm = mode === "separate" ? "separate" : "login";
  if (mode !== "separate") return;
  document.querySelectorAll('[data-i18n="admin.confirm_password"], [data-i18n="admin.unlock.confirm"]').forEach((el) => {
    el.dataset.i18n = "confirm.separate";
    el.textContent = t("confirm.separate");
    const input = el.htmlFor && document.getElementById(el.htmlFor);
    if (input) input.autocomplete = "off"; // not the sign-in password a browser keeps
  });
}

function showMessage(el, text, isError) {
  el.textContent = text;
  el.className = isError ? "message error" : "message ok";
  el.hidden = !text;
}

// showDone replaces a form with its success: the form goes, and its message (msgEl,
// moved out of the form) says what happened, taking the focus so it is read out.
function showDone(form, msgEl, text) {
  form.before(msgEl);
  showMessage(msgEl, text, false);
  form.hidden = true;
  msgEl.tabIndex = -1;
  msgEl.focus();
}

// fieldMessages is an error's message with what is wrong with each field, in words
// (field.* and code.* in words.json; site/words holds them to the server's codes). A field
// the site has no word for is left out rather than shown by its name, and a code without
// words reads as "not valid": the page never shows an identifier.
function fieldMessages(err) {
  if (!err.fields.length) return err.message;
  const known = (key) => (t(key) !== key ? t(key) : "");
  const parts = [];
  for (const f of err.fields) {
    const base = String(f.field).replace(/\[\d+\]$/, "").split(".").pop();
    const separate = base === "confirm_password" && document.documentElement.dataset.confirm === "separate";
    const label = known("field." + (separate ? "confirmation_password" : base));
    const text = known("code." + f.code) || t("code.invalid");
    const part = label ? label + ": " + text : text;
    if (!parts.includes(part)) parts.push(part);
  }
  const sep = kagiyaLang() === "ja" ? "、" : "; ";
  return err.message + (kagiyaLang() === "ja" ? "（" + parts.join(sep) + "）" : " (" + parts.join(sep) + ")");
}

// flagFields marks the form's fields an error names (aria-invalid, described by the
// message) and moves the focus to the first, or to the message when none is named; the
// marks go at the next submit. A field is found by its id or name.
function flagFields(form, err, msgEl) {
  form.querySelectorAll("[aria-invalid]").forEach((el) => {
    el.removeAttribute("aria-invalid");
    if (el.dataset.describedBy !== undefined) {
      if (el.dataset.describedBy) el.setAttribute("aria-describedby", el.dataset.describedBy); else el.removeAttribute("aria-describedby");
      delete el.dataset.describedBy;
    }
  });
  if (!err) return;
  if (!msgEl.id) msgEl.id = form.id + "-error";
  if (!msgEl.hasAttribute("tabindex")) msgEl.tabIndex = -1;
  const mark = (el) => {
    el.setAttribute("aria-invalid", "true");
    el.dataset.describedBy = el.getAttribute("aria-describedby") || "";
    el.setAttribute("aria-describedby", (el.dataset.describedBy + " " + msgEl.id).trim());
  };
  let first = null;
  for (const f of err.fields || []) {
    const name = String(f.field).replace(/\[\d+\]$/, "");
    const el = form.querySelector("#" + CSS.escape(name)) || form.querySelector('[name="' + CSS.escape(name) + '"]');
    if (!el || el.getAttribute("aria-invalid")) continue;
    mark(el);
    first = first || el;
  }
  // Errors that name no field but can only be about one: the password confirming the
  // action, the code typed.
  const about = { invalid_current_password: 'input[type="password"][autocomplete="current-password"]',
    invalid_confirm_password: 'input[type="password"][autocomplete="current-password"]',
    invalid_code: 'input[autocomplete="one-time-code"]' }[err.code];
  if (!first && about) {
    first = form.querySelector(about);
    if (first) mark(first);
  }
  (first || msgEl).focus();
}

// Every password field gets a button that shows what was typed (ASVS 2.1.12), so people
// can check a long password or a passphrase before sending it; pasting and password
// managers are never blocked.
function addRevealButtons() {
  document.querySelectorAll('input[type="password"]').forEach((input) => {
    if (input.dataset.reveal) return;
    input.dataset.reveal = "1";
    const button = document.createElement("button");
    button.type = "button";
    button.className = "reveal secondary";
    button.setAttribute("aria-controls", input.id);
    button.setAttribute("aria-pressed", "false");
    const label = () => {
      const shown = input.type === "text";
      button.textContent = t(shown ? "pw.hide" : "pw.show");
      button.setAttribute("aria-pressed", String(shown));
    };
    button.addEventListener("click", () => {
      input.type = input.type === "password" ? "text" : "password";
      label();
      input.focus();
    });
    document.addEventListener("kagiya:lang", label);
    label();
    input.after(button);
  });
}
kagiyaReady(addRevealButtons);
