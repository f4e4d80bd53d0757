// One account, for administrators (account.html?login_id=): its states, role (changed with
// the administrator's own password), last sign-in, second factor, login method, app
// passwords, its recent audit events in words, and every action the list's menu and the
// batch bar offer for it. Each weighty action asks the administrator's own password.
"use strict";
kagiyaReady(async () => {
  const loginID = new URLSearchParams(location.search).get("login_id") || "";
  const msg = document.getElementById("message");
  const path = "/api/admin/accounts/" + encodeURIComponent(loginID);
  let acct = null;
  let me0 = null;
  let recent = [];
  let apws = [];
  let sessions = null; // null: not the administrator's to see (its own, or an owner's for an administrator)
  const BAD = new Set(["locked", "expired", "disabled", "mfa_locked"]);

  // find reads the account from the list (the API has no single-account read): the
  // search narrows it, and the exact login ID picks it.
  async function find() {
    const res = await api("GET", "/api/admin/accounts?limit=200&q=" + encodeURIComponent(loginID));
    return res.accounts.find((a) => a.login_id.toLowerCase() === loginID.toLowerCase()) || null;
  }

  const text = (id, v) => { document.getElementById(id).textContent = v; };
  function render() {
    if (!acct) return;
    text("acct-login-id", acct.login_id);
    const state = document.getElementById("acct-state");
    state.replaceChildren();
    const states = acct.state && acct.state.length ? acct.state : ["ok"];
    for (const st of states) {
      const b = document.createElement("span");
      b.className = "badge" + (BAD.has(st) ? " locked" : "");
      b.dataset.state = st;
      b.textContent = t("admin.status." + (st === "mfa_enabled" ? "mfa" : st));
      state.append(b, " ");
    }
    // Why and since when it is locked: the newest lock in its log.
    const lock = acct.locked && recent.find((ev) => ev.action === "lock");
    if (lock) state.append(t("account.locked_at").replace("{at}", formatTime(lock.at)).replace("{why}", resultWords(lock)));
    text("acct-role", t("role." + acct.role));
    text("acct-last-login", acct.last_login_at ? formatTime(acct.last_login_at) : t("never"));
    text("acct-created", formatTime(acct.created_at));
    text("acct-mfa", t(acct.mfa_locked ? "admin.status.mfa_locked" : acct.mfa_enabled ? "mfa.state_on" : "mfa.state_off"));
    text("acct-passkeys", acct.passkeys > 0 ? passkeyCount(acct.passkeys) : t("account.passkeys.none"));
    text("acct-method", t(acct.login_method === "idp" ? "method.idp" : acct.invited ? "account.method.invited" : (acct.state || []).includes("legacy_hash") ? "account.method.imported" : "account.method.password"));
    text("acct-quota", String(acct.quota_gb));
    text("acct-comment", acct.comment || "");
    // Only the actions that can succeed, as on the list.
    const self = acct.login_id.toLowerCase() === me0.login_id.toLowerCase();
    const manage = !self && (me0.role === "owner" || acct.role === "user");
    const show = (id, on) => { document.getElementById(id).hidden = !on; };
    show("act-unlock", manage && acct.locked);
    show("act-mfa-unlock", manage && acct.mfa_locked);
    show("act-resend", manage && acct.invited);
    show("act-role", manage && me0.role === "owner");
    show("act-signout", manage);
    show("act-mfa-reset", manage && (acct.mfa_enabled || acct.passkeys > 0)); // the reset removes passkeys too
    show("act-suspend", manage);
    show("act-delete", manage);
    const suspend = document.getElementById("act-suspend");
    suspend.dataset.i18n = acct.disabled ? "admin.resume" : "admin.suspend";
    suspend.textContent = t(suspend.dataset.i18n);
    renderAppPasswords(manage);
    renderSessions();
    renderRecent();
  }

  function renderAppPasswords(manage) {
    const list = document.getElementById("apw-list");
    list.replaceChildren();
    document.getElementById("apw-empty").hidden = apws.length > 0;
    for (const p of apws) {
      const li = document.createElement("li");
      li.append(p.name + " — " + t("account.app_password.made").replace("{at}", formatTime(p.created_at))
        .replace("{used}", p.last_used_at ? formatTime(p.last_used_at) : t("never")) + " ");
      if (manage) {
        const b = document.createElement("button");
        b.type = "button"; b.className = "secondary revoke";
        b.textContent = t("account.app_password.revoke");
        b.setAttribute("aria-label", t("account.app_password.revoke") + " " + p.name);
        b.addEventListener("click", () => confirmAction("apw", p));
        li.append(b);
      }
      list.append(li);
    }
  }

  // The account's signed-in browsers, each ended on its own (the person is signed out
  // there); "sign out everywhere" ends them all.
  function renderSessions() {
    document.getElementById("sess-section").hidden = sessions === null;
    if (sessions === null) return;
    const tbody = document.getElementById("sess-list");
    tbody.replaceChildren();
    document.getElementById("sess-empty").hidden = sessions.length > 0;
    for (const s of sessions) {
      const tr = document.createElement("tr");
      const name = (s.user_agent || t("sessions.unknown_browser")) + " (" + s.ip + ")";
      for (const [l, v] of [["sessions.col.browser", s.user_agent || t("sessions.unknown_browser")], ["sessions.col.ip", s.ip],
        ["sessions.col.created", formatTime(s.created_at)], ["sessions.col.last_seen", formatTime(s.last_seen_at)]]) {
        const td = document.createElement("td");
        td.dataset.label = t(l);
        td.textContent = v;
        tr.append(td);
      }
      const td = document.createElement("td");
      td.dataset.label = t("admin.col.actions");
      const b = document.createElement("button");
      b.type = "button"; b.className = "secondary end-session";
      b.textContent = t("account.session.end");
      b.setAttribute("aria-label", t("account.session.end") + " " + name);
      b.addEventListener("click", () => confirmAction("session", { name, id: s.session_id }));
      td.append(b);
      tr.append(td);
      tbody.append(tr);
    }
  }

  function renderRecent() {
    const tbody = document.getElementById("recent");
    tbody.replaceChildren();
    for (const ev of recent.slice(0, 20)) {
      const tr = document.createElement("tr");
      if (ev.result.startsWith("failed") || LOCKS.has(ev.action)) tr.className = "bad";
      for (const [l, v] of [["audit.at", formatTime(ev.at)], ["audit.actor", actorWords(ev.actor)], ["audit.action", actionWords(ev.action)],
        ["audit.ip", ev.ip], ["audit.result", resultWords(ev)]]) {
        const td = document.createElement("td");
        td.dataset.label = t(l);
        td.textContent = v;
        tr.append(td);
      }
      tbody.append(tr);
    }
  }
  document.addEventListener("kagiya:lang", render);

  async function load() {
    try {
      const [a, log] = await Promise.all([find(), api("GET", "/api/admin/audit?target=" + encodeURIComponent(loginID))]);
      acct = a;
      if (!acct) { showMessage(msg, t("account.not_found"), true); return; }
      recent = log.events.filter((ev) => ev.target.toLowerCase() === acct.login_id.toLowerCase());
      apws = (await api("GET", path + "/app-passwords")).app_passwords;
      const manage = acct.login_id.toLowerCase() !== me0.login_id.toLowerCase() && (me0.role === "owner" || acct.role === "user");
      sessions = manage ? (await api("GET", path + "/sessions")).sessions : null;
      render();
    } catch (e) {
      if (e.signedOut) { location.replace("/index.html"); return; }
      showMessage(msg, fieldMessages(e), true);
    }
  }

  // The actions: what each asks the server, and the words of its dialog and its result.
  const ACTIONS = {
    unlock: { title: "admin.lock.title", ok: "admin.lock.ok", done: "account.done.unlock",
      run: (pw) => api("POST", "/api/admin/unlock", { login_ids: [acct.login_id], confirm_password: pw }) },
    mfaunlock: { title: "admin.mfa.title", ok: "admin.mfa.ok", done: "account.done.mfa_unlock",
      run: (pw) => api("POST", path + "/mfa/unlock", { confirm_password: pw }) },
    role: { title: "account.role_change", ok: "admin.save", done: "account.done.role", role: true,
      run: (pw) => api("PATCH", path, { role: document.getElementById("act-role-value").value, confirm_password: pw }) },
    signout: { title: "account.signout_all", ok: "account.signout_all", done: "account.done.signout",
      run: (pw) => api("POST", path + "/sessions/revoke", { confirm_password: pw }) },
    mfareset: { title: "admin.mfareset", ok: "admin.mfareset.ok", done: "admin.mfareset.done", lead: "admin.mfareset.confirm",
      run: (pw) => api("POST", path + "/mfa/reset", { confirm_password: pw }) },
    suspend: { title: "admin.suspend.title", ok: "admin.suspend.ok", done: "account.done.suspend",
      run: (pw) => api("POST", "/api/admin/suspend", { login_ids: [acct.login_id], disabled: true, confirm_password: pw }) },
    resume: { title: "admin.resume.title", ok: "admin.resume.ok", done: "account.done.resume",
      run: (pw) => api("POST", "/api/admin/suspend", { login_ids: [acct.login_id], disabled: false, confirm_password: pw }) },
    delete: { title: "admin.delete.confirm", ok: "admin.delete.ok", done: "admin.deleted",
      run: (pw) => api("DELETE", path, { confirm_password: pw }) },
    session: { title: "account.session.end", ok: "account.session.end", done: "account.done.session",
      run: (pw, s) => api("DELETE", path + "/sessions/" + encodeURIComponent(s.id), { confirm_password: pw }) },
    apw: { title: "account.app_password.revoke", ok: "account.app_password.revoke", done: "account.done.apw",
      run: (pw, p) => api("DELETE", path + "/app-passwords/" + encodeURIComponent(p.app_password_id), { confirm_password: pw }) },
  };
  const dialog = document.getElementById("act-dialog");
  let pending = null;
  function confirmAction(name, arg) {
    const a = ACTIONS[name];
    pending = { a, arg };
    text("act-title", t(a.title));
    text("act-ok", t(a.ok));
    text("act-target", acct.login_id + (arg ? " — " + arg.name : name === "mfareset" && acct.passkeys > 0 ? " — " + passkeyCount(acct.passkeys) : ""));
    document.getElementById("act-ok").className = name === "delete" || name === "suspend" ? "danger" : "";
    document.getElementById("act-role-row").hidden = !a.role;
    const lead = document.getElementById("act-lead");
    lead.hidden = !a.lead;
    lead.textContent = a.lead ? t(a.lead) : "";
    document.getElementById("act-role-value").value = acct.role;
    document.getElementById("act-confirm").value = "";
    showMessage(document.getElementById("act-message"), "", true);
    dialog.showModal();
  }
  document.getElementById("act-cancel").addEventListener("click", () => dialog.close());
  document.getElementById("act-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const { a, arg } = pending;
    try {
      await a.run(document.getElementById("act-confirm").value, arg);
      dialog.close();
      if (a === ACTIONS.delete) { location.replace("/admin.html"); return; }
      showMessage(msg, t(a.done), false);
      load();
    } catch (e) {
      document.getElementById("act-confirm").value = "";
      showMessage(document.getElementById("act-message"), fieldMessages(e), true);
    }
  });
  const on = (id, f) => document.getElementById(id).addEventListener("click", f);
  on("act-unlock", () => confirmAction("unlock"));
  on("act-mfa-unlock", () => confirmAction("mfaunlock"));
  on("act-role", () => confirmAction("role"));
  on("act-signout", () => confirmAction("signout"));
  on("act-mfa-reset", () => confirmAction("mfareset"));
  on("act-suspend", () => confirmAction(acct.disabled ? "resume" : "suspend"));
  on("act-delete", () => confirmAction("delete"));
  on("act-resend", async () => {
    try {
      await api("POST", path + "/invite");
      showMessage(msg, t("admin.invite_resent").replace("{id}", acct.login_id), false);
    } catch (e) {
      showMessage(msg, fieldMessages(e), true);
    }
  });

  me0 = await me();
  if (!me0) return;
  if (me0.role === "user") { location.replace("/home.html"); return; }
  document.getElementById("recent-all").href = "/audit.html?target=" + encodeURIComponent(loginID);
  document.getElementById("acct-row").href = "/admin.html?q=" + encodeURIComponent(loginID);
  if (me0.role !== "owner") document.querySelectorAll('#act-role-value option:not([value="user"])').forEach((o) => o.remove());
  load();
});
