// The audit log's words: who acted, what was done, and the result with its reason, in the
// page's language, for the audit page and the account page. An event's codes become
// words here, so the log never shows a code or the server's own phrasing.
"use strict";

// Days are Japan's (the tenants' time zone, as formatTime gives times).
const ZONE = "+09:00";
const today = () => new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Tokyo" }).format(new Date());
const addDays = (day, n) => new Date(Date.parse(day + "T00:00:00Z") + n * 86400000).toISOString().slice(0, 10);

// The actions whose "ok" is a lock, not a success: named for what happened.
const LOCKS = new Set(["lock", "mfa.lock", "device.untrusted", "device.ceiling"]);

// Details the server writes as sentences with data in them, each in words: a pattern, the
// key of its words, whose {1}, {2} are the pattern's groups, and what turns a group into
// words (none: the group is data, a name or a number, shown as it is).
const DETAIL_PATTERNS = [
  [/^(\d+) failures$/, "audit.p.failures"],
  [/^(\d+) wrong codes$/, "audit.p.wrong_codes"],
  [/^(\d+) left$/, "audit.p.left"],
  [/^(\d+) failures from a known browser$/, "audit.p.known_failures"],
  [/^(\d+) attempts from known browsers this hour$/, "audit.p.known_ceiling"],
  [/^(\d+) revoked by the password change$/, "audit.p.revoked_by_change"],
  [/^was not locked$/, "audit.p.was_not_locked"],
  [/^code reused, its tokens revoked$/, "audit.p.code_reused"],
  [/^to (\S+)$/, "audit.p.to"],
  [/^from (\S+)$/, "audit.p.from"],
  [/^(\S+) to argon2id$/, "audit.p.upgraded"],
  [/^app_password (.+)$/, "audit.p.app_password"],
  [/^other_tenant (\S+)$/, "audit.p.other_tenant"],
  [/^(.+) refreshed$/, "audit.p.refreshed"],
  [/^(.+) \(revocation endpoint\)$/, "audit.p.revocation_endpoint"],
  [/^the administrator is gone$/, "audit.p.admin_gone"],
  [/^the administrator may no longer administer$/, "audit.p.admin_demoted"],
  [/^domain of another tenant$/, "audit.d.other_tenant"],
  [/^role changed$/, "audit.p.role_changed"],
  [/^role (user|admin|owner)$/, "audit.p.role_refused", (role) => t("role." + role)],
];

// fill is the words of key with {1}, {2}… replaced by groups.
function fill(key, groups) {
  let s = t(key);
  groups.forEach((g, i) => { s = s.replace("{" + (i + 1) + "}", g); });
  return s;
}

function known(key) { return t(key) !== key; }

// The fields a change names (account.update "role=admin quota_gb=5", a bulk row
// "password quota comment"), each in words; null when detail is not such a list.
const CHANGE_TOKEN = /^(password|password_hash|invitation|comment|quota|account|force_change=(true|false)|role=(user|admin|owner)|disabled=(true|false)|quota_gb=\d+)$/;

function changeWords(detail) {
  const parts = detail.split(" ");
  if (!parts.every((p) => CHANGE_TOKEN.test(p))) return null;
  return parts.map((part) => {
    const [field, value] = part.split("=");
    if (value === undefined) return t("audit.c." + field);
    if (field === "role") return t("audit.c.role") + ": " + t("role." + value);
    if (field === "quota_gb") return t("audit.c.quota") + ": " + value;
    return t("audit.c." + field + "." + value);
  }).join("、");
}

// detailWords turns a result's detail ("password", "imap:password", "10 failures",
// "ok:role=admin") into words; names and addresses stay as they are.
function detailWords(detail) {
  if (known("audit.d." + detail)) return t("audit.d." + detail);
  const job = /^(.+) job (\S+)$/.exec(detail);
  // A bulk row's detail is what it changed ("password quota"), never a reason.
  if (job) return (changeWords(job[1]) || detailWords(job[1])) + " / " + fill("audit.p.job", [job[2]]);
  const revoked = /^(.+) \((\w+)\)$/.exec(detail); // an application's access, and why
  if (revoked) return revoked[1] + "（" + detailWords(revoked[2]) + "）";
  for (const [re, key, word] of DETAIL_PATTERNS) {
    const m = re.exec(detail);
    if (m) return fill(key, m.slice(1).map(word || String));
  }
  const change = changeWords(detail);
  if (change) return change;
  const i = detail.indexOf(":");
  if (i > 0) return detailWords(detail.slice(0, i)) + "・" + detailWords(detail.slice(i + 1));
  return detail;
}

// resultWords is an event's result in words: the outcome, and its reason where known.
function resultWords(ev) {
  const r = ev.result;
  const i = r.indexOf(":");
  const status = i < 0 ? r : r.slice(0, i);
  const detail = i < 0 ? "" : r.slice(i + 1);
  let words;
  if (status === "ok" && LOCKS.has(ev.action)) words = t("audit.r.locked");
  else if (status === "ok" && ev.action === "unlock") words = t("audit.r.unlocked");
  else words = known("audit.r." + status) ? t("audit.r." + status) : status;
  return detail ? words + "（" + detailWords(detail) + "）" : words;
}

// actorWords names who acted: a person by login ID, Kagiya itself, a mail server, an
// application, or someone who used an emailed link.
function actorWords(actor) {
  if (actor === "system") return t("audit.who.system");
  if (actor === "anonymous") return t("audit.who.anonymous");
  if (actor === "oidc") return t("audit.who.oidc");
  if (actor.startsWith("service:")) return fill("audit.who.service", [actor.slice(8)]);
  if (actor.startsWith("oidc:")) return fill("audit.who.app", [actor.slice(5)]);
  if (actor.startsWith("malformed:")) return t("audit.d.malformed");
  return actor;
}

function actionWords(action) {
  return known("audit.a." + action) ? t("audit.a." + action) : action;
}
