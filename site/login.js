"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("signin-form");
  const msg = document.getElementById("signin-message");
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const button = document.getElementById("signin-submit");
    button.disabled = true;
    showMessage(msg, "", false);
    try {
      const res = await api("POST", "/api/login", {
        login_id: form.login_id.value.trim(), password: form.password.value });
      sessionStorage.setItem("kagiya.csrf", res.csrf_token);
      location.assign("/home.html");
    } catch (e) {
      showMessage(msg, e.message, true);
      form.password.value = "";
      form.password.focus();
    } finally {
      button.disabled = false;
    }
  });
});
