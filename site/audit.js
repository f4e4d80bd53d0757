// The tenant's audit log, newest first, a page at a time, in words (who, actions, results
// and their reasons), with filters kept in the address (bookmarkable; Back returns to the
// previous filters), period presets in Japan's days, a per-account summary of failed
// sign-ins, and a CSV download of what the filters keep.
"use strict";

kagiyaReady(async () => {
  const tbody = document.getElementById("events");
  const more = document.getElementById("more");
  const form = document.getElementById("filters");
  const summary = document.getElementById("summary");
  let cursor = null;
  let rows = [];
  let counts = null; // the summary: failed sign-ins by target
  let notice = ""; // audit_archived: the range reaches before what the table keeps

  // query is the filters as the API reads them (dates are Japan's days).
  const query = () => {
    const q = new URLSearchParams();
    if (form["f-action"].value) q.set("action", form["f-action"].value);
    if (form["f-result"].value) q.set("result", form["f-result"].value);
    if (form["f-target"].value.trim()) q.set("target", form["f-target"].value.trim());
    if (form["f-from"].value) q.set("from", new Date(form["f-from"].value + "T00:00:00" + ZONE).toISOString());
    if (form["f-to"].value) q.set("to", new Date(addDays(form["f-to"].value, 1) + "T00:00:00" + ZONE).toISOString());
    if (document.getElementById("f-bulk").checked) q.set("bulk_rows", "true");
    return q;
  };
  // The address holds the filters as a person set them (days, not instants).
  const FIELDS = [["action", "f-action"], ["result", "f-result"], ["target", "f-target"], ["from", "f-from"], ["to", "f-to"]];
  const toAddress = () => {
    const q = new URLSearchParams();
    for (const [name, id] of FIELDS) if (form[id].value.trim()) q.set(name, form[id].value.trim());
    if (document.getElementById("f-bulk").checked) q.set("bulk_rows", "true");
    return q.toString() ? "?" + q : location.pathname;
  };
  const fromAddress = () => {
    const q = new URLSearchParams(location.search);
    for (const [name, id] of FIELDS) form[id].value = q.get(name) || "";
    document.getElementById("f-bulk").checked = q.get("bulk_rows") === "true";
  };
  const failedLogins = () => form["f-action"].value === "login" && form["f-result"].value === "failed";

  const render = () => {
    tbody.replaceChildren();
    for (const ev of rows) {
      const tr = document.createElement("tr");
      if (ev.result.startsWith("failed") || LOCKS.has(ev.action)) tr.className = "bad";
      const job = ev.action === "bulk.job" && /^(\w+):job (\S+) rows=(\d+) updated=(\d+) created=(\d+) skipped=(\d+) refused=(\d+) errors=(\d+)/.exec(ev.result);
      const outcome = job
        ? t("bulk.state." + job[1]) + "（" + t("audit.job").replace("{rows}", job[3]).replace("{updated}", job[4]).replace("{created}", job[5])
          .replace("{skipped}", job[6]).replace("{errors}", job[8]) + "）"
        : resultWords(ev);
      const cells = [["audit.at", formatTime(ev.at)], ["audit.actor", actorWords(ev.actor)],
        ["audit.action", actionWords(ev.action)], ["audit.target", ev.target], ["audit.ip", ev.ip], ["audit.result", outcome]];
      for (const [l, v] of cells) {
        const td = document.createElement("td");
        td.dataset.label = t(l);
        if (job && l === "audit.target") {
          // A bulk job is one event here; its page has the rows.
          const a = document.createElement("a");
          a.href = "/bulk.html?job=" + encodeURIComponent(job[2]);
          a.textContent = v;
          td.append(a);
        } else {
          td.textContent = v;
        }
        tr.append(td);
      }
      tbody.append(tr);
    }
    document.getElementById("audit-empty").hidden = rows.length > 0;
    // Older events than the table keeps are in the operator's archive: said in words.
    const archived = document.getElementById("audit-archived");
    archived.textContent = notice ? errorText(notice) : "";
    archived.hidden = !notice;
    renderSummary();
  };

  // The summary of failed sign-ins: one row an account, most failures first.
  const renderSummary = () => {
    summary.hidden = !counts;
    if (!counts) return;
    const body = document.getElementById("summary-rows");
    body.replaceChildren();
    const list = [...counts.byTarget.values()].sort((a, b) => b.n - a.n || a.target.localeCompare(b.target));
    for (const c of list) {
      const tr = document.createElement("tr");
      const who = document.createElement("td");
      who.dataset.label = t("audit.target");
      const a = document.createElement("a");
      a.href = "/account.html?login_id=" + encodeURIComponent(c.target);
      a.textContent = c.target;
      who.append(a);
      const reasons = [...c.reasons].sort((x, y) => y[1] - x[1]).map(([r, n]) => detailWords(r) + " ×" + n).join("、");
      tr.append(who);
      for (const [l, v] of [["audit.s.count", String(c.n)], ["audit.s.reasons", reasons], ["audit.s.last", formatTime(c.last)]]) {
        const td = document.createElement("td");
        td.dataset.label = t(l);
        td.textContent = v;
        tr.append(td);
      }
      body.append(tr);
    }
    let lead = fill("audit.s.lead", [String(counts.total), String(list.length)]);
    if (counts.cut) lead += " " + fill("audit.s.cut", [String(counts.total)]);
    document.getElementById("summary-lead").textContent = lead;
  };

  // summarize reads every failed sign-in the filters keep (up to 20 pages of 100) and
  // counts them by account.
  async function summarize() {
    const byTarget = new Map();
    let total = 0;
    let next = null;
    let pages = 0;
    do {
      const q = query();
      if (next) q.set("cursor", next);
      const res = await api("GET", "/api/admin/audit?" + q.toString());
      for (const ev of res.events) {
        total++;
        const c = byTarget.get(ev.target) || { target: ev.target, n: 0, last: ev.at, reasons: new Map() };
        c.n++;
        const reason = ev.result.slice(ev.result.indexOf(":") + 1) || "password";
        c.reasons.set(reason, (c.reasons.get(reason) || 0) + 1);
        byTarget.set(ev.target, c);
      }
      next = res.next_cursor;
      pages++;
    } while (next && pages < 20);
    return { byTarget, total, cut: Boolean(next) };
  }

  document.addEventListener("kagiya:lang", render);
  async function load(fresh) {
    if (fresh) { cursor = null; rows = []; counts = null; notice = ""; }
    const q = query();
    if (cursor) q.set("cursor", cursor);
    tbody.closest("table").setAttribute("aria-busy", "true");
    const loading = document.getElementById("list-loading");
    const timer = setTimeout(() => { loading.hidden = false; }, 200);
    try {
      const [res, sum] = await Promise.all([api("GET", "/api/admin/audit?" + q.toString()),
        fresh && failedLogins() ? summarize() : Promise.resolve(counts)]);
      rows = rows.concat(res.events);
      cursor = res.next_cursor;
      notice = res.notice || "";
      counts = sum;
      more.hidden = !cursor;
      showMessage(document.getElementById("message"), "", true);
      render();
    } catch (e) {
      if (e.signedOut) { location.replace("/index.html"); return; }
      if (fresh) render(); // a range wholly older than the table keeps: audit_archived, in words, over no rows
      showMessage(document.getElementById("message"), fieldMessages(e), true);
    } finally {
      clearTimeout(timer);
      loading.hidden = true;
      tbody.closest("table").removeAttribute("aria-busy");
    }
    exported = query();
    exportLink();
  }
  // The download keeps what the list shows, in the page's language (its words follow the
  // language switch).
  let exported = new URLSearchParams();
  const exportLink = () => {
    const x = new URLSearchParams(exported);
    x.set("lang", kagiyaLang());
    document.getElementById("export").href = "/api/admin/audit/export.csv?" + x.toString();
  };
  document.addEventListener("kagiya:lang", exportLink);
  // apply shows what the form holds and records it in the address (one history entry a
  // change, so Back returns to the previous filters).
  const apply = () => {
    const next = toAddress();
    if (next !== location.search && !(next === location.pathname && !location.search)) history.pushState(null, "", next);
    load(true);
  };
  more.addEventListener("click", () => load(false));
  form.addEventListener("submit", (ev) => { ev.preventDefault(); apply(); });
  document.getElementById("f-bulk").addEventListener("change", apply);
  const period = (from, to) => { form["f-from"].value = from; form["f-to"].value = to; apply(); };
  document.getElementById("preset-today").addEventListener("click", () => period(today(), today()));
  document.getElementById("preset-yesterday").addEventListener("click", () => period(addDays(today(), -1), addDays(today(), -1)));
  document.getElementById("preset-week").addEventListener("click", () => period(addDays(today(), -6), today()));
  document.getElementById("preset-failed").addEventListener("click", () => {
    form["f-action"].value = "login";
    form["f-result"].value = "failed";
    apply();
  });
  window.addEventListener("popstate", () => { fromAddress(); load(true); });
  const m = await me();
  if (!m) return;
  if (m.role === "user") { location.replace("/home.html"); return; }
  fromAddress();
  load(true);
});
