"use strict";
const NUMBER_SETTINGS = ["history_depth", "max_age_days", "lockout_threshold", "lock_minutes", "unlock_link_hours", "reset_link_minutes",
  "otp_lock_threshold", "remember_browser_days", "invite_link_hours", "email_change_link_hours"];
const BOOL_SETTINGS = ["notify_new_device", "revoke_app_passwords_on_change", "mfa_required", "reset_clears_mfa"];

// confirmMFAOff shows the manual's warning before a second factor stops being required,
// and resolves to whether the owner goes on.
function confirmMFAOff() {
  const dialog = document.getElementById("mfa-off-dialog");
  return new Promise((resolve) => {
    const done = (ok) => { dialog.close(); resolve(ok); };
    document.getElementById("mfa-off-ok").onclick = () => done(true);
    document.getElementById("mfa-off-cancel").onclick = () => done(false);
    dialog.oncancel = () => resolve(false);
    dialog.showModal();
  });
}

// How strong each preset is, for the warning before a weaker one.
const PRESET_STRENGTH = { nist: 4, standard12: 4, classes3of4: 3, basic8: 2, legacy3to30: 1 };

// weakenings lists, in words, how the new settings lower the saved ones' protection.
function weakenings(saved, next) {
  const out = [];
  if ((PRESET_STRENGTH[next.policy_preset] || 0) < (PRESET_STRENGTH[saved.policy_preset] || 0)) out.push(t("settings.weaken.preset"));
  if (next.lockout_threshold > saved.lockout_threshold) out.push(t("settings.weaken.threshold").replace("{a}", saved.lockout_threshold).replace("{b}", next.lockout_threshold));
  if (next.history_depth < saved.history_depth) out.push(t("settings.weaken.history"));
  if (saved.lockout_scope === "account" && next.lockout_scope !== "account") out.push(t("settings.weaken.scope"));
  if (saved.notify_new_device && !next.notify_new_device) out.push(t("settings.weaken.notify"));
  if (saved.revoke_app_passwords_on_change && !next.revoke_app_passwords_on_change) out.push(t("settings.weaken.app_passwords"));
  return out;
}

// confirmWeaker shows what the change weakens and resolves to whether the owner goes on.
function confirmWeaker(items) {
  const dialog = document.getElementById("weaken-dialog");
  const list = document.getElementById("weaken-list");
  list.replaceChildren(...items.map((x) => { const li = document.createElement("li"); li.textContent = x; return li; }));
  return new Promise((resolve) => {
    const done = (ok) => { dialog.close(); resolve(ok); };
    document.getElementById("weaken-ok").onclick = () => done(true);
    document.getElementById("weaken-cancel").onclick = () => done(false);
    dialog.oncancel = () => resolve(false);
    dialog.showModal();
  });
}

document.addEventListener("DOMContentLoaded", async () => {
  const form = document.getElementById("settings-form");
  const msg = document.getElementById("message");
  let required = false; // whether the tenant requires a second factor, as saved
  let saved = null; // the settings as saved, to warn before weakening them
  const m = await me();
  if (!m) return;
  if (m.role !== "owner") { location.replace("/home.html"); return; }
  try {
    const s = await api("GET", "/api/admin/tenant");
    document.getElementById("tenant-name").textContent = s.name;
    form.name.value = s.name;
    form.domains.value = s.domains.join("\n");
    form.policy_preset.value = s.policy_preset;
    form.language.value = s.language;
    form.lockout_scope.value = s.lockout_scope;
    BOOL_SETTINGS.forEach((k) => { form[k].checked = s[k]; });
    NUMBER_SETTINGS.forEach((k) => { form[k].value = s[k]; });
    required = s.mfa_required;
    saved = s;
  } catch (e) {
    showMessage(msg, e.message, true);
  }
  // The selected preset's rules, in words, as people will see them.
  const preview = async () => {
    const list = document.getElementById("preset-rules");
    try {
      const d = await api("GET", "/api/password/policy?preset=" + encodeURIComponent(form.policy_preset.value));
      list.replaceChildren(...d.rules.map((r) => { const li = document.createElement("li"); li.textContent = r.text; return li; }));
    } catch (_) { list.replaceChildren(); }
  };
  form.policy_preset.addEventListener("change", preview);
  document.addEventListener("kagiya:lang", preview);
  preview();
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body = {
      name: form.name.value,
      domains: form.domains.value.split(/[\s,、]+/).filter((d) => d !== ""),
      policy_preset: form.policy_preset.value,
      language: form.language.value,
      lockout_scope: form.lockout_scope.value,
      confirm_password: form.confirm_password.value,
    };
    BOOL_SETTINGS.forEach((k) => { body[k] = form[k].checked; });
    NUMBER_SETTINGS.forEach((k) => { body[k] = Number(form[k].value); });
    if (required && !body.mfa_required && !(await confirmMFAOff())) return;
    const weaker = saved ? weakenings(saved, body) : [];
    if (weaker.length && !(await confirmWeaker(weaker))) return;
    try {
      saved = await api("PUT", "/api/admin/tenant", body);
      required = saved.mfa_required;
      document.getElementById("tenant-name").textContent = saved.name;
      form.domains.value = saved.domains.join("\n");
      form.confirm_password.value = "";
      showMessage(msg, t("settings.saved"), false);
      flagFields(form, null, msg);
    } catch (e) {
      if (e.code === "invalid_confirm_password") form.confirm_password.value = "";
      showMessage(msg, fieldMessages(e), true);
      flagFields(form, e, msg);
    }
  });
});
