"use strict";
// The home page: who is signed in, and the way to everything else. The sign-in page
// carries the same section and shows it in place once a sign-in ends (showHome), so
// signing in costs no second page load; home.html itself asks GET /api/me.
function showHome(account) {
  const section = document.getElementById("home-section");
  const render = () => {
    document.getElementById("me-login-id").textContent = account.login_id;
    document.getElementById("me-role").textContent = t("role." + account.role);
    document.getElementById("me-tenant").textContent = account.tenant_name;
    document.getElementById("admin-link").hidden = account.role === "user";
    document.getElementById("settings-link").hidden = account.role !== "owner";
    document.getElementById("integrations-link").hidden = account.role !== "owner";
    document.getElementById("me-mfa").textContent = t(account.mfa_enabled ? "mfa.state_on" : "mfa.state_off");
    document.getElementById("me-expires").textContent = account.password_expires_at
      ? formatTime(account.password_expires_at) : t("home.no_expiry");
  };
  document.addEventListener("kagiya:lang", render);
  render();
  section.hidden = false;
  if (account.role !== "user") homeCards(section, account).catch(() => {});
}

// The accounts that need an administrator, one card a state, each linking to the list
// filtered to it; a way to invite someone; and, for an owner without a second factor, a
// nudge to set it up. The cards are made here, so the sign-in page's copy of the home
// section gets them too.
const HOME_STATES = ["locked", "invited", "mfa_locked"];
async function homeCards(section, account) {
  let box = document.getElementById("home-cards");
  if (!box) {
    box = document.createElement("div");
    box.id = "home-cards";
    section.querySelector("dl.facts").after(box);
  }
  const totals = await Promise.all(HOME_STATES.map((st) => api("GET", "/api/admin/accounts?limit=1&state=" + st).then((r) => r.total)));
  const render = () => {
    box.replaceChildren();
    if (account.role === "owner" && !account.mfa_enabled) {
      const nudge = document.createElement("p");
      nudge.className = "message error";
      nudge.id = "mfa-nudge";
      const a = document.createElement("a");
      a.href = "/security.html";
      a.textContent = t("home.mfa_nudge.link");
      nudge.append(t("home.mfa_nudge") + " ", a);
      box.append(nudge);
    }
    const list = document.createElement("ul");
    list.className = "cards";
    HOME_STATES.forEach((st, i) => {
      const li = document.createElement("li");
      const a = document.createElement("a");
      a.href = "/admin.html?state=" + st;
      a.id = "card-" + st;
      a.className = "count-card" + (totals[i] > 0 && st !== "invited" ? " attention" : "");
      const n = document.createElement("strong");
      n.textContent = String(totals[i]);
      a.append(n, " ", t("home.card." + st));
      li.append(a);
      list.append(li);
    });
    const li = document.createElement("li");
    const invite = document.createElement("a");
    invite.href = "/admin.html?create";
    invite.id = "card-invite";
    invite.className = "count-card";
    invite.textContent = t("admin.create.open");
    li.append(invite);
    list.append(li);
    box.append(list);
  };
  document.addEventListener("kagiya:lang", render);
  render();
}

kagiyaReady(async () => {
  const msg = document.getElementById("home-message");
  document.getElementById("signout").addEventListener("click", async () => {
    try {
      await api("POST", "/api/logout");
    } catch (e) {
      if (e.status !== 401) { showMessage(msg, e.message, true); return; }
    }
    sessionStorage.removeItem("kagiya.csrf");
    location.assign("/index.html");
  });
  if (document.getElementById("signin-form")) return; // the sign-in page: login.js shows it
  try {
    const account = await me();
    if (account) showHome(account);
  } catch (e) {
    document.getElementById("home-section").hidden = false;
    showMessage(msg, e.message, true);
  }
});
