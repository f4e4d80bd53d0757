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
}

document.addEventListener("DOMContentLoaded", async () => {
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
