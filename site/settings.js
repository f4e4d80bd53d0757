"use strict";
const NUMBER_SETTINGS = ["history_depth", "max_age_days", "lockout_threshold", "lock_minutes", "unlock_link_hours", "reset_link_minutes",
  "otp_lock_threshold", "remember_browser_days", "invite_link_hours", "email_change_link_hours"];
const BOOL_SETTINGS = ["notify_new_device", "revoke_app_passwords_on_change", "mfa_required", "reset_clears_mfa", "trusted_networks_skip_mfa", "idp_requires_mfa"];

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

// parseIP reads an IPv4 or IPv6 address as [bits, value] (an IPv4-mapped IPv6 address as
// IPv4), or null.
function parseIP(s) {
  s = String(s).trim();
  const v4 = (x) => {
    const p = x.split(".");
    if (p.length !== 4 || p.some((o) => !/^\d{1,3}$/.test(o) || Number(o) > 255)) return null;
    return p.reduce((n, o) => (n << 8n) | BigInt(o), 0n);
  };
  if (!s.includes(":")) { const n = v4(s); return n === null ? null : [32, n]; }
  let tail = null;
  const last = s.lastIndexOf(":");
  if (s.slice(last + 1).includes(".")) { tail = v4(s.slice(last + 1)); if (tail === null) return null; s = s.slice(0, last + 1) + "0:0"; }
  const halves = s.split("::");
  if (halves.length > 2) return null;
  const groups = (h) => (h ? h.split(":") : []);
  const head = groups(halves[0]);
  const rest = halves.length === 2 ? groups(halves[1]) : [];
  const missing = 8 - head.length - rest.length;
  if (missing < 0 || (halves.length === 1 && missing !== 0)) return null;
  const all = [...head, ...Array(halves.length === 2 ? missing : 0).fill("0"), ...rest];
  if (all.some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) return null;
  let n = all.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
  if (tail !== null) n = (n & ~0xffffffffn) | tail;
  if (n >> 32n === 0xffffn) return [32, n & 0xffffffffn];
  return [128, n];
}

// parseNetwork reads a CIDR range (a bare address is a range of one) as [bits, value,
// prefix length], or null: the server names a range that is none.
function parseNetwork(net) {
  const [addr, len, extra] = String(net).trim().split("/");
  const p = parseIP(addr);
  if (!p || extra !== undefined || (len !== undefined && !/^\d{1,3}$/.test(len))) return null;
  let bits = len === undefined ? p[0] : Number(len);
  if (p[0] === 32 && addr.includes(":") && len !== undefined) bits -= 96;
  if (!(bits >= 0 && bits <= p[0])) return null;
  return [p[0], p[1], bits];
}

// inNetworks reports whether ip is inside one of the CIDR ranges, as the server decides it.
function inNetworks(ip, networks) {
  const a = parseIP(ip);
  if (!a) return false;
  return networks.some((net) => {
    const p = parseNetwork(net);
    if (!p || p[0] !== a[0]) return false;
    const shift = BigInt(p[0] - p[2]);
    return (a[1] >> shift) === (p[1] >> shift);
  });
}

// confirmRoutes warns that the owner's current address is outside the networks about to
// be saved, and resolves to whether the owner goes on.
function confirmRoutes(ip) {
  const dialog = document.getElementById("routes-dialog");
  document.getElementById("routes-warning").textContent = t("settings.routes_warning").replace("{ip}", ip);
  return new Promise((resolve) => {
    const done = (ok) => { dialog.close(); resolve(ok); };
    document.getElementById("routes-ok").onclick = () => done(true);
    document.getElementById("routes-cancel").onclick = () => done(false);
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
  if (saved.idp_requires_mfa && !next.idp_requires_mfa) out.push(t("settings.weaken.idp_mfa"));
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

// renderDomains shows each domain with its state, the TXT record that proves it while it
// is not verified, a verify button, and (for the tenant's domains) a box to remove it
// when the settings are saved.
function renderDomains(list, domains, onVerify) {
  const removing = new Set([...list.querySelectorAll(".remove-domain:checked")].map((b) => b.value));
  list.replaceChildren(...domains.map((d) => {
    const li = document.createElement("li");
    li.dataset.domain = d.domain;
    const name = document.createElement("span");
    name.className = "domain-name";
    name.textContent = d.domain;
    const badge = document.createElement("span");
    badge.className = "badge domain-" + d.status;
    badge.textContent = t("settings.domain_status." + d.status);
    li.append(name, " ", badge);
    if (d.txt_value) {
      const rec = document.createElement("dl");
      rec.className = "facts record";
      const row = (label, value) => {
        const dt = document.createElement("dt");
        dt.textContent = t(label);
        const dd = document.createElement("dd");
        const code = document.createElement("code");
        code.textContent = value;
        dd.append(code);
        rec.append(dt, dd);
      };
      row("settings.txt_type", "TXT");
      row("settings.txt_name", d.txt_name);
      row("settings.txt_value", d.txt_value);
      li.append(rec);
    }
    const actions = document.createElement("div");
    actions.className = "actions";
    if (d.status !== "verified") {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "secondary verify-domain";
      b.textContent = t(d.txt_value ? "settings.verify_domain" : "settings.prove_domain").replace("{d}", d.domain);
      b.addEventListener("click", () => onVerify(d));
      actions.append(b);
    }
    {
      const label = document.createElement("label");
      label.className = "inline";
      const box = document.createElement("input");
      box.type = "checkbox";
      box.className = "remove-domain";
      box.value = d.domain;
      box.checked = removing.has(d.domain);
      const text = document.createElement("span");
      text.textContent = t("settings.remove_domain").replace("{d}", d.domain);
      label.append(box, " ", text);
      actions.append(label);
    }
    li.append(actions);
    return li;
  }));
}

kagiyaReady(async () => {
  const form = document.getElementById("settings-form");
  const msg = document.getElementById("message");
  let required = false; // whether the tenant requires a second factor, as saved
  let saved = null; // the settings as saved, to warn before weakening them
  let domains = []; // the tenant's domains and claims, as GET /api/admin/tenant gives them
  const list = document.getElementById("domain-list");
  const domainMsg = document.getElementById("domain-message");
  const newDomain = document.getElementById("new-domain");
  const reloadDomains = async () => {
    domains = (await api("GET", "/api/admin/tenant")).domain_status;
    showDomains();
  };
  // Verify looks the record up; a domain without a record yet gets one first.
  const onVerify = async (d) => {
    try {
      if (!d.txt_value) {
        await api("POST", "/api/admin/tenant/domains", { domain: d.domain });
        await reloadDomains();
        showMessage(domainMsg, t("settings.domain_publish").replace("{d}", d.domain), false);
        return;
      }
      await api("POST", "/api/admin/tenant/domains/" + encodeURIComponent(d.domain) + "/verify");
      await reloadDomains();
      showMessage(domainMsg, t("settings.domain_verified").replace("{d}", d.domain), false);
    } catch (e) {
      showMessage(domainMsg, fieldMessages(e), true);
    }
  };
  const showDomains = () => renderDomains(list, domains, onVerify);
  const marked = (domain) => [...list.querySelectorAll(".remove-domain:checked")].some((b) => b.value === domain);
  const addDomain = async () => {
    const domain = newDomain.value.trim();
    if (!domain) { newDomain.focus(); return; }
    try {
      await api("POST", "/api/admin/tenant/domains", { domain });
      newDomain.value = "";
      newDomain.removeAttribute("aria-invalid");
      await reloadDomains();
      showMessage(domainMsg, t("settings.domain_publish").replace("{d}", domain.toLowerCase()), false);
    } catch (e) {
      newDomain.setAttribute("aria-invalid", "true");
      showMessage(domainMsg, fieldMessages(e), true);
    }
  };
  document.getElementById("add-domain").addEventListener("click", addDomain);
  newDomain.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter") { ev.preventDefault(); addDomain(); }
  });
  document.addEventListener("kagiya:lang", showDomains);
  const m = await me();
  if (!m) return;
  if (m.role !== "owner") { location.replace("/home.html"); return; }
  try {
    const s = await api("GET", "/api/admin/tenant");
    document.getElementById("tenant-name").textContent = s.name;
    form.name.value = s.name;
    domains = s.domain_status;
    showDomains();
    form.policy_preset.value = s.policy_preset;
    form.language.value = s.language;
    form.lockout_scope.value = s.lockout_scope;
    form.confirmation_password.value = s.confirmation_password;
    form.allowed_networks.value = (s.allowed_networks || []).join("\n");
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
      // The tenant's domains in order, without those marked for removal (a domain is
      // added only by proving it, above).
      domains: domains.filter((d) => d.status !== "pending" && !marked(d.domain)).map((d) => d.domain),
      policy_preset: form.policy_preset.value,
      language: form.language.value,
      lockout_scope: form.lockout_scope.value,
      confirmation_password: form.confirmation_password.value,
      allowed_networks: form.allowed_networks.value.split(/[\s,]+/).filter((x) => x),
      confirm_password: form.confirm_password.value,
    };
    BOOL_SETTINGS.forEach((k) => { body[k] = form[k].checked; });
    NUMBER_SETTINGS.forEach((k) => { body[k] = Number(form[k].value); });
    if (required && !body.mfa_required && !(await confirmMFAOff())) return;
    const weaker = saved ? weakenings(saved, body) : [];
    if (weaker.length && !(await confirmWeaker(weaker))) return;
    // Before a list that leaves out where the owner is now (a list with a range that is
    // none goes to the server, which names it).
    const nets = body.allowed_networks;
    if (nets.length && m.client_ip && nets.every((n) => parseNetwork(n)) && !inNetworks(m.client_ip, nets) && !(await confirmRoutes(m.client_ip))) return;
    try {
      // Pending claims marked for removal go first (confirmed with the same password).
      for (const d of domains.filter((x) => x.status === "pending" && marked(x.domain))) {
        await api("DELETE", "/api/admin/tenant/domains/" + encodeURIComponent(d.domain), { confirm_password: body.confirm_password });
      }
      saved = await api("PUT", "/api/admin/tenant", body);
      required = saved.mfa_required;
      document.getElementById("tenant-name").textContent = saved.name;
      domains = saved.domain_status;
      list.querySelectorAll(".remove-domain").forEach((b) => { b.checked = false; });
      showDomains();
      form.confirm_password.value = "";
      form.allowed_networks.value = saved.allowed_networks.join("\n");
      showMessage(msg, t("settings.saved"), false);
      flagFields(form, null, msg);
    } catch (e) {
      if (e.code === "invalid_confirm_password") form.confirm_password.value = "";
      showMessage(msg, fieldMessages(e), true);
      flagFields(form, e, msg);
      reloadDomains().catch(() => {}); // a pending claim may be gone already
    }
  });
});
