"use strict";
document.addEventListener("DOMContentLoaded", async () => {
  const msg = document.getElementById("home-message");
  let account = null;
  const render = () => {
    if (!account) return;
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
  document.getElementById("signout").addEventListener("click", async () => {
    try {
      await api("POST", "/api/logout");
    } catch (e) {
      if (e.status !== 401) { showMessage(msg, e.message, true); return; }
    }
    sessionStorage.removeItem("kagiya.csrf");
    location.assign("/index.html");
  });
  try {
    const fresh = sessionStorage.getItem("kagiya.me"); // just signed in: no need to ask
    sessionStorage.removeItem("kagiya.me");
    account = fresh ? JSON.parse(fresh) : await me();
    if (fresh) renderShell(account);
    render();
  } catch (e) {
    showMessage(msg, e.message, true);
  }
});
