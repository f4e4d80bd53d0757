"use strict";
const QUOTAS = [0, 1, 2, 5, 10, 20, 50, 100];

kagiyaReady(async () => {
  const tbody = document.getElementById("accounts");
  const listMsg = document.getElementById("list-message");
  const state = { q: "", filter: "", role: "", sort: "login_id", desc: false, size: 50, cursors: [""], page: 0, next: null, total: 0, rows: [] };
  let unlockMode = "lock"; // what the confirmation dialog does: "lock", "mfa", "suspend" or "resume"
  let editing = null;
  let myLoginID = "";
  let myRole = "";
  const selected = new Set();
  let allMatching = false; // every account the filter matches is selected, not only these

  document.querySelectorAll("select.quota").forEach((sel) => {
    QUOTAS.forEach((q) => { const o = document.createElement("option"); o.value = q; o.textContent = q; sel.append(o); });
  });

  const cell = (text, label) => {
    const td = document.createElement("td");
    td.textContent = text;
    if (label) td.dataset.label = t(label);
    return td;
  };
  // A value that may be cut to fit its column: the whole text on hover (title) and on
  // focus (focusable once cut, see markCut); with href, a link (the login ID leads to
  // the account's page).
  const longCell = (text, label, href) => {
    const td = cell("", label);
    const span = document.createElement(href ? "a" : "span");
    if (href) span.href = href;
    span.className = "trunc";
    span.textContent = text;
    span.title = text;
    td.append(span);
    return td;
  };
  const markCut = () => {
    tbody.querySelectorAll(".trunc").forEach((el) => {
      if (el.scrollWidth > el.clientWidth) el.tabIndex = 0; else el.removeAttribute("tabindex");
    });
  };
  window.addEventListener("resize", markCut);
  const fmtTime = (s) => (s ? formatTime(s, false) : t("never"));
  const button = (text, cls, label, onClick) => {
    const b = document.createElement("button");
    b.type = "button"; b.className = cls; b.textContent = text;
    b.setAttribute("aria-label", text + " " + label);
    b.addEventListener("click", onClick);
    return b;
  };
  const BADGE_BAD = new Set(["locked", "expired", "disabled", "mfa_locked", "confirmation_locked"]);

  // rowMenu is a row's 「操作」 menu: a disclosure holding the row's actions. One is open
  // at a time; Escape or a click elsewhere closes it, and choosing an action does too.
  const rowMenu = (loginID, items) => {
    const menu = document.createElement("details");
    menu.className = "row-menu";
    const summary = document.createElement("summary");
    const hidden = document.createElement("span");
    hidden.className = "sr-only";
    hidden.textContent = " " + loginID;
    summary.append(t("admin.col.actions"), hidden);
    const list = document.createElement("div");
    list.className = "menu";
    for (const b of items) {
      b.addEventListener("click", () => { menu.open = false; });
      list.append(b);
    }
    menu.append(summary, list);
    menu.addEventListener("toggle", () => {
      if (!menu.open) return;
      tbody.querySelectorAll("details.row-menu[open]").forEach((d) => { if (d !== menu) d.open = false; });
    });
    return menu;
  };
  document.addEventListener("keydown", (ev) => {
    const open = ev.key === "Escape" && tbody.querySelector("details.row-menu[open]");
    if (!open) return;
    open.open = false;
    open.querySelector("summary").focus();
  });
  document.addEventListener("click", (ev) => {
    tbody.querySelectorAll("details.row-menu[open]").forEach((d) => { if (!d.contains(ev.target)) d.open = false; });
  });

  function renderSelection() {
    const n = allMatching ? state.total : selected.size;
    document.getElementById("selection").textContent = n ? t("admin.selected").replace("{n}", n) : "";
    const more = document.getElementById("select-matching");
    const pageAll = state.rows.length > 0 && state.rows.every((a) => selected.has(a.login_id));
    more.hidden = allMatching || !pageAll || state.total <= state.rows.length;
    more.textContent = t("admin.select_matching").replace("{n}", state.total);
    document.getElementById("select-page").checked = allMatching || pageAll;
  }

  function render() {
    tbody.replaceChildren();
    if (!state.rows.length) {
      const tr = document.createElement("tr");
      const td = cell(t("admin.empty")); td.colSpan = 8; tr.append(td); tbody.append(tr);
    }
    for (const a of state.rows) {
      const tr = document.createElement("tr");
      tr.dataset.loginId = a.login_id;
      const status = document.createElement("td");
      status.dataset.label = t("admin.col.status");
      const states = a.state && a.state.length ? a.state : ["ok"];
      for (const st of states) {
        const badge = document.createElement("span");
        badge.className = "badge" + (BADGE_BAD.has(st) ? " locked" : "");
        badge.dataset.state = st;
        badge.textContent = t("admin.status." + (st === "mfa_enabled" ? "mfa" : st === "legacy_hash" ? "legacy_hash" : st));
        status.append(badge, " ");
      }
      if (a.login_method === "idp") { // signs in through the organization's identity provider
        const idp = document.createElement("span");
        idp.className = "badge";
        idp.dataset.state = "idp";
        idp.textContent = t("admin.status.idp");
        status.append(idp, " ");
      }
      if (a.passkeys > 0) {
        const pk = document.createElement("span");
        pk.className = "badge";
        pk.dataset.state = "passkeys";
        pk.textContent = passkeyCount(a.passkeys);
        status.append(pk, " ");
      }
      if (a.mail_suppressed) {
        const mail = document.createElement("span");
        mail.className = "badge locked";
        mail.dataset.state = "mail_" + a.mail_suppressed;
        mail.textContent = t("admin.status.mail_" + a.mail_suppressed);
        status.append(mail, " ");
      }
      const self = a.login_id.toLowerCase() === myLoginID;
      // Only actions that can succeed: an owner manages everyone, an administrator the
      // users; one's own account is edited here and changed on one's own pages.
      const manage = myRole === "owner" || a.role === "user";
      const actions = document.createElement("td");
      actions.className = "row-actions";
      actions.dataset.label = t("admin.col.actions");
      const items = [];
      if (self || manage) items.push(button(t("admin.edit"), "secondary edit", a.login_id, () => openEdit(a)));
      if (!self && manage) {
        // An idp account has no Kagiya password: setting one is refused (validation,
        // password not_allowed), so it is not offered.
        if (a.login_method !== "idp") items.push(button(t("admin.set_password"), "secondary setpw", a.login_id, () => openSetPassword(a)));
        items.push(button(t("admin.loginid"), "secondary loginid", a.login_id, () => openLoginID(a)));
        if (a.invited) items.push(button(t("admin.resend_invite"), "secondary resend", a.login_id, () => resendInvite(a)));
        items.push(button(t(a.disabled ? "admin.resume" : "admin.suspend"), "secondary suspend", a.login_id,
          () => openConfirmFor([a.login_id], a.disabled ? "resume" : "suspend")));
        if (a.mfa_enabled || a.passkeys > 0) items.push(button(t("admin.mfareset"), "secondary mfareset", a.login_id, () => openMFAReset(a)));
        items.push(button(t("admin.delete"), "danger", a.login_id, () => openDelete(a)));
      }
      if (items.length) actions.append(rowMenu(a.login_id, items));
      const pick = document.createElement("td");
      const box = document.createElement("input");
      box.type = "checkbox"; box.className = "pick"; box.value = a.login_id;
      box.checked = allMatching || selected.has(a.login_id);
      box.setAttribute("aria-label", t("admin.select") + " " + a.login_id);
      box.addEventListener("change", () => {
        allMatching = false;
        if (box.checked) selected.add(a.login_id); else selected.delete(a.login_id);
        renderSelection();
      });
      pick.append(box);
      tr.append(pick, longCell(a.login_id, "admin.col.login_id", "/account.html?login_id=" + encodeURIComponent(a.login_id)), cell(t("role." + a.role), "admin.col.role"), status,
        cell(a.quota_gb, "admin.col.quota"), longCell(a.comment, "admin.col.comment"), cell(fmtTime(a.last_login_at), "admin.col.last_login_zone"), actions);
      tbody.append(tr);
    }
    markCut();
    const pages = Math.max(1, Math.ceil(state.total / state.size));
    document.getElementById("count").textContent = t("admin.count").replace("{n}", state.total)
      .replace("{page}", state.page + 1).replace("{pages}", pages);
    document.getElementById("prev").disabled = state.page === 0;
    document.getElementById("next").disabled = !state.next;
    const nums = document.getElementById("pages");
    nums.replaceChildren();
    const shown = new Set([0, pages - 1]);
    for (let i = Math.max(0, state.page - 3); i <= Math.min(pages - 1, state.page + 3); i++) shown.add(i);
    let last = -1;
    for (const i of [...shown].sort((x, y) => x - y)) {
      if (i - last > 1) nums.append(" … ");
      const b = document.createElement("button");
      b.type = "button"; b.className = i === state.page ? "page current" : "page secondary"; b.textContent = String(i + 1);
      if (i === state.page) b.setAttribute("aria-current", "page");
      b.addEventListener("click", () => goTo(i));
      nums.append(b);
      last = i;
    }
    renderSelection();
    renderUnlockAll();
  }
  document.addEventListener("kagiya:lang", render);

  // The export's words (role, states, login method) are in the page's language.
  const exportLink = document.getElementById("export-link");
  const exportLang = () => { exportLink.href = "/api/admin/accounts/export.csv?lang=" + kagiyaLang(); };
  exportLang();
  document.addEventListener("kagiya:lang", exportLang);

  // A list filtered to one kind of lock offers to release every account it matches in
  // one press (then the confirmation): from the home page's card, that is card, unlock
  // all, confirm.
  const UNLOCK_ALL = { locked: "lock", mfa_locked: "mfa", confirmation_locked: "confirmation" };
  function renderUnlockAll() {
    const mode = UNLOCK_ALL[state.filter];
    const row = document.getElementById("unlock-all-row");
    row.hidden = !mode || state.total === 0;
    if (row.hidden) return;
    document.getElementById("unlock-all").textContent = t("admin.unlock_all." + mode).replace("{n}", state.total);
  }

  const query = (cursor, limit) => {
    const params = new URLSearchParams({ limit: String(limit || state.size), sort: state.sort, order: state.desc ? "desc" : "asc" });
    if (state.q) params.set("q", state.q);
    if (state.filter) params.set("state", state.filter);
    if (state.role) params.set("role", state.role);
    if (cursor) params.set("cursor", cursor);
    return api("GET", "/api/admin/accounts?" + params);
  };

  async function load() {
    // While the list loads, it says so (aria-busy for screen readers, a line for eyes).
    const table = tbody.closest("table");
    table.setAttribute("aria-busy", "true");
    const loading = document.getElementById("list-loading");
    const timer = setTimeout(() => { loading.hidden = false; }, 200);
    try {
      const res = await query(state.cursors[state.page]);
      state.rows = res.accounts; state.next = res.next_cursor; state.total = res.total;
      if (state.next) state.cursors[state.page + 1] = state.next;
      render();
    } catch (e) {
      if (e.signedOut) { location.replace("/index.html"); return; }
      showMessage(listMsg, e.message, true);
    } finally {
      clearTimeout(timer);
      loading.hidden = true;
      table.removeAttribute("aria-busy");
    }
  }

  // goTo shows page i, walking forward through the pages between for their cursors.
  async function goTo(i) {
    try {
      while (state.cursors[i] === undefined) {
        const k = state.cursors.length - 1;
        const res = await query(state.cursors[k]);
        if (!res.next_cursor) { i = k; break; }
        state.cursors[k + 1] = res.next_cursor;
      }
    } catch (e) {
      showMessage(listMsg, e.message, true);
      return;
    }
    state.page = i;
    load();
  }

  // matchingIDs are the login IDs of every account the filter matches, a page at a time.
  async function matchingIDs() {
    const ids = [];
    let cursor = "";
    do {
      const res = await query(cursor, 200);
      ids.push(...res.accounts.map((a) => a.login_id));
      cursor = res.next_cursor;
    } while (cursor);
    return ids;
  }

  document.getElementById("search-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const [sort, order] = document.getElementById("sort").value.split(":");
    Object.assign(state, { q: document.getElementById("q").value.trim(), filter: document.getElementById("state").value,
      role: document.getElementById("role").value, sort, desc: order === "desc", size: Number(document.getElementById("size").value),
      cursors: [""], page: 0 });
    selected.clear(); allMatching = false;
    load();
  });
  document.getElementById("next").addEventListener("click", () => goTo(state.page + 1));
  document.getElementById("prev").addEventListener("click", () => goTo(state.page - 1));
  document.getElementById("select-page").addEventListener("change", (ev) => {
    allMatching = false;
    for (const a of state.rows) { if (ev.target.checked) selected.add(a.login_id); else selected.delete(a.login_id); }
    render();
  });
  document.getElementById("select-matching").addEventListener("click", () => { allMatching = true; render(); });

  const createForm = document.getElementById("create-form");
  // "Create / invite" opens its panel at the top of the page, above the list; inviting is
  // the default, and the password fields show only when a password is set instead.
  const createPanel = document.getElementById("create-panel");
  const createOpen = document.getElementById("create-open");
  const openCreate = (open) => {
    createPanel.hidden = !open;
    createOpen.setAttribute("aria-expanded", String(open));
    if (open) document.getElementById("new-login-id").focus(); else createOpen.focus();
  };
  createOpen.addEventListener("click", () => openCreate(createPanel.hidden));
  document.getElementById("create-close").addEventListener("click", () => openCreate(false));
  const invite = document.getElementById("new-invite");
  // An account that signs in through the organization's identity provider has no
  // password here: its fields go away (an invitation tells it to sign in there).
  const newMethod = document.getElementById("new-login-method");
  const showInvite = () => {
    document.getElementById("new-password-fields").hidden = invite.checked || newMethod.value === "idp";
    const submit = document.getElementById("create-submit");
    submit.dataset.i18n = invite.checked ? "admin.create.invite_submit" : "admin.create.submit";
    submit.textContent = t(submit.dataset.i18n);
  };
  invite.addEventListener("change", showInvite);
  newMethod.addEventListener("change", showInvite);
  // An admin or owner is created only with the creator's own password (the API asks it).
  const newRole = document.getElementById("new-role");
  const confirmRow = document.getElementById("new-confirm-row");
  const showConfirm = () => { confirmRow.hidden = newRole.value === "user"; };
  newRole.addEventListener("change", showConfirm);
  // A login ID outside the organization's domains: the error names the domains it may use.
  let domains = [];
  const createError = (e) => {
    let text = fieldMessages(e);
    if (domains.length && (e.fields || []).some((f) => f.field === "login_id" && f.code === "other_tenant")) {
      text += " " + t("admin.create.domains").replace("{domains}", domains.join(", "));
    }
    return text;
  };
  createForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const msg = document.getElementById("create-message");
    const pw = document.getElementById("new-password").value;
    if (pw !== document.getElementById("new-password2").value) {
      showMessage(msg, t("admin.password_mismatch"), true); return;
    }
    const body = {
      login_id: document.getElementById("new-login-id").value.trim(),
      role: document.getElementById("new-role").value,
      quota_gb: Number(document.getElementById("new-quota").value),
      comment: document.getElementById("new-comment").value,
    };
    if (newMethod.value === "idp") body.login_method = "idp";
    if (invite.checked) body.invite = true;
    else if (pw && newMethod.value !== "idp") { body.password = pw; body.force_change = document.getElementById("new-force-change").checked; }
    if (body.role !== "user") body.confirm_password = document.getElementById("confirm_password").value;
    try {
      await api("POST", "/api/admin/accounts", body);
      showMessage(msg, t(body.invite ? "admin.invited" : "admin.created"), false);
      flagFields(createForm, null, msg);
      createForm.reset();
      showConfirm();
      showInvite();
      load();
    } catch (e) {
      showMessage(msg, createError(e), true);
      flagFields(createForm, e, msg);
    }
  });

  const editDialog = document.getElementById("edit-dialog");
  function openEdit(a) {
    editing = a;
    document.getElementById("edit-login-id").textContent = a.login_id;
    document.getElementById("edit-quota").value = a.quota_gb;
    document.getElementById("edit-comment").value = a.comment;
    showMessage(document.getElementById("edit-message"), "", true);
    editDialog.showModal();
  }
  document.getElementById("edit-cancel").addEventListener("click", () => editDialog.close());
  document.getElementById("edit-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      await api("PATCH", "/api/admin/accounts/" + encodeURIComponent(editing.login_id), {
        quota_gb: Number(document.getElementById("edit-quota").value),
        comment: document.getElementById("edit-comment").value });
      editDialog.close();
      showMessage(listMsg, t("admin.saved"), false);
      load();
    } catch (e) {
      showMessage(document.getElementById("edit-message"), fieldMessages(e), true);
    }
  });

  const unlockDialog = document.getElementById("unlock-dialog");
  let confirmIDs = null; // the accounts of the confirmation dialog, or null: the selection
  let confirmAll = false; // the dialog is for every account the filter matches
  const openConfirmFor = async (ids, mode, all) => {
    if (!ids && !all && !allMatching && !selected.size) { showMessage(listMsg, t("admin.unlock.none"), true); return; }
    unlockMode = mode;
    confirmAll = Boolean(all) || (!ids && allMatching);
    if (!ids && confirmAll) {
      // The accounts are fixed as the dialog opens: the action touches the ones it names
      // (their count), not others that come to match while it is open.
      try { ids = await matchingIDs(); } catch (e) { showMessage(listMsg, fieldMessages(e), true); return; }
    }
    confirmIDs = ids;
    // The title and the button name the action, also after a change of language.
    const title = document.getElementById("unlock-title");
    const ok = document.getElementById("unlock-ok");
    title.dataset.i18n = "admin." + mode + ".title";
    ok.dataset.i18n = "admin." + mode + ".ok";
    title.textContent = t(title.dataset.i18n);
    ok.textContent = t(ok.dataset.i18n);
    ok.className = mode === "suspend" ? "danger" : "";
    document.getElementById("unlock-list").textContent = confirmAll ? t("admin.selected").replace("{n}", ids.length)
      : ids ? ids.join(", ") : [...selected].join(", ");
    document.getElementById("unlock-confirm").value = "";
    showMessage(document.getElementById("unlock-message"), "", true);
    unlockDialog.showModal();
  };
  document.getElementById("unlock-selected").addEventListener("click", () => openConfirmFor(null, "lock"));
  document.getElementById("unlock-all").addEventListener("click", () => openConfirmFor(null, UNLOCK_ALL[state.filter], true));
  document.getElementById("mfa-unlock-selected").addEventListener("click", () => openConfirmFor(null, "mfa"));
  document.getElementById("confirmation-unlock-selected").addEventListener("click", () => openConfirmFor(null, "confirmation"));
  document.getElementById("suspend-selected").addEventListener("click", () => openConfirmFor(null, "suspend"));
  document.getElementById("resume-selected").addEventListener("click", () => openConfirmFor(null, "resume"));
  document.getElementById("unlock-cancel").addEventListener("click", () => unlockDialog.close());
  document.getElementById("unlock-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const confirm = document.getElementById("unlock-confirm").value;
    const path = { lock: "/api/admin/unlock", mfa: "/api/admin/mfa/unlock", confirmation: "/api/admin/confirmation/unlock",
      suspend: "/api/admin/suspend", resume: "/api/admin/suspend" }[unlockMode];
    try {
      const ids = confirmIDs || [...selected];
      const done = [];
      const unchanged = [];
      const failed = []; // not changed: the server could not write them; they may be tried again
      for (let i = 0; i < ids.length; i += 100) { // the API takes 100 at a time
        const body = { login_ids: ids.slice(i, i + 100), confirm_password: confirm };
        if (unlockMode === "suspend" || unlockMode === "resume") body.disabled = unlockMode === "suspend";
        const res = await api("POST", path, body);
        done.push(...(res.unlocked || res.changed || []));
        unchanged.push(...(res.not_locked || res.unchanged || []));
        failed.push(...(res.failed || []));
      }
      unlockDialog.close();
      const names = done.length && done.length <= 20 ? ": " + done.join(", ") : "";
      let text = t("admin." + unlockMode + ".done").replace("{n}", done.length) + names;
      if (unchanged.length && unchanged.length <= 20) {
        text += " / " + t({ lock: "admin.not_locked", mfa: "admin.mfa_not_locked", confirmation: "admin.confirmation_not_locked" }[unlockMode] || "admin.unchanged") + unchanged.join(", ");
      }
      if (failed.length) {
        text += " / " + t("admin.failed") + failed.join(", ");
      }
      showMessage(listMsg, text, failed.length > 0);
      selected.clear(); allMatching = false;
      load();
    } catch (e) {
      document.getElementById("unlock-confirm").value = "";
      showMessage(document.getElementById("unlock-message"), fieldMessages(e), true);
    }
  });

  async function resendInvite(a) {
    try {
      await api("POST", "/api/admin/accounts/" + encodeURIComponent(a.login_id) + "/invite");
      showMessage(listMsg, t("admin.invite_resent").replace("{id}", a.login_id), false);
    } catch (e) {
      showMessage(listMsg, fieldMessages(e), true);
    }
  }

  const loginIDDialog = document.getElementById("loginid-dialog");
  function openLoginID(a) {
    editing = a;
    document.getElementById("loginid-current").textContent = a.login_id;
    document.getElementById("loginid-form").reset();
    showMessage(document.getElementById("loginid-message"), "", true);
    loginIDDialog.showModal();
  }
  document.getElementById("loginid-cancel").addEventListener("click", () => loginIDDialog.close());
  document.getElementById("loginid-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const to = document.getElementById("loginid-new").value.trim();
    try {
      await api("PATCH", "/api/admin/accounts/" + encodeURIComponent(editing.login_id), {
        login_id: to, confirm_password: document.getElementById("loginid-confirm").value });
      loginIDDialog.close();
      showMessage(listMsg, t("loginid.sent").replace("{id}", to), false);
    } catch (e) {
      if (e.code === "invalid_confirm_password") document.getElementById("loginid-confirm").value = "";
      showMessage(document.getElementById("loginid-message"), fieldMessages(e), true);
    }
  });

  const setpwDialog = document.getElementById("setpw-dialog");
  function openSetPassword(a) {
    editing = a;
    document.getElementById("setpw-login-id").textContent = a.login_id;
    document.getElementById("setpw-form").reset();
    flagFields(document.getElementById("setpw-form"), null, document.getElementById("setpw-message"));
    policyChecklist.forAccount(a.login_id);
    showMessage(document.getElementById("setpw-message"), "", true);
    setpwDialog.showModal();
  }
  document.getElementById("setpw-cancel").addEventListener("click", () => setpwDialog.close());
  document.getElementById("setpw-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const pmsg = document.getElementById("setpw-message");
    const pw = document.getElementById("setpw-new").value;
    if (policyChecklist.refuse(ev.target, pmsg)) return;
    if (pw !== document.getElementById("setpw-new2").value) { showMessage(pmsg, t("admin.password_mismatch"), true); return; }
    try {
      await api("PATCH", "/api/admin/accounts/" + encodeURIComponent(editing.login_id), {
        password: pw, force_change: document.getElementById("setpw-force").checked,
        confirm_password: document.getElementById("setpw-confirm").value });
      setpwDialog.close();
      showMessage(listMsg, t("admin.setpw.done"), false);
      load();
    } catch (e) {
      if (e.code === "invalid_confirm_password") document.getElementById("setpw-confirm").value = "";
      showMessage(pmsg, e.code === "password_policy" ? policyChecklist.explain(e) : fieldMessages(e), true);
    }
  });
  // The dialog shows the tenant's rules, checked against the account being changed.
  const policyChecklist = new PasswordChecklist(document.getElementById("setpw-rules"), document.getElementById("setpw-new"));
  document.addEventListener("kagiya:lang", () => policyChecklist.load().catch(() => {}));

  const mfaResetDialog = document.getElementById("mfareset-dialog");
  function openMFAReset(a) {
    editing = a;
    document.getElementById("mfareset-login-id").textContent = a.login_id + (a.passkeys > 0 ? " — " + passkeyCount(a.passkeys) : "");
    document.getElementById("mfareset-confirm").value = "";
    showMessage(document.getElementById("mfareset-message"), "", true);
    mfaResetDialog.showModal();
    document.getElementById("mfareset-cancel").focus();
  }
  document.getElementById("mfareset-cancel").addEventListener("click", () => mfaResetDialog.close());
  document.getElementById("mfareset-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      await api("POST", "/api/admin/accounts/" + encodeURIComponent(editing.login_id) + "/mfa/reset", {
        confirm_password: document.getElementById("mfareset-confirm").value });
      mfaResetDialog.close();
      showMessage(listMsg, t("admin.mfareset.done"), false);
      load();
    } catch (e) {
      if (e.code === "invalid_confirm_password") document.getElementById("mfareset-confirm").value = "";
      showMessage(document.getElementById("mfareset-message"), fieldMessages(e), true);
    }
  });

  const deleteDialog = document.getElementById("delete-dialog");
  function openDelete(a) {
    editing = a;
    document.getElementById("delete-login-id").textContent = a.login_id;
    document.getElementById("delete-confirm").value = "";
    showMessage(document.getElementById("delete-message"), "", true);
    deleteDialog.showModal();
    document.getElementById("delete-cancel").focus();
  }
  document.getElementById("delete-cancel").addEventListener("click", () => deleteDialog.close());
  document.getElementById("delete-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      await api("DELETE", "/api/admin/accounts/" + encodeURIComponent(editing.login_id), {
        confirm_password: document.getElementById("delete-confirm").value });
      deleteDialog.close();
      showMessage(listMsg, t("admin.deleted"), false);
      load();
    } catch (e) {
      if (e.code === "invalid_confirm_password") document.getElementById("delete-confirm").value = "";
      showMessage(document.getElementById("delete-message"), fieldMessages(e), true);
    }
  });

  const m = await me();
  if (!m) return;
  if (m.role === "user") { location.replace("/home.html"); return; }
  const wanted = new URLSearchParams(location.search).get("state");
  if (wanted && document.querySelector(`#state option[value="${CSS.escape(wanted)}"]`)) {
    state.filter = wanted;
    document.getElementById("state").value = wanted;
  }
  const q = new URLSearchParams(location.search).get("q"); // an account page's way back to its row
  if (q) {
    state.q = q.slice(0, 254);
    document.getElementById("q").value = state.q;
  }
  myLoginID = m.login_id.toLowerCase();
  myRole = m.role;
  if (myRole !== "owner") { // an administrator gives only the user role
    document.querySelectorAll('#new-role option:not([value="user"])').forEach((o) => o.remove());
  }
  policyChecklist.load().catch(() => {});
  if (new URLSearchParams(location.search).get("create") !== null) openCreate(true);
  load();
  api("GET", "/api/admin/tenant").then((tn) => { domains = tn.domains || []; }).catch(() => {});
});
