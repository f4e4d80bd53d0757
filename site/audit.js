// The tenant's audit log, newest first, a page at a time, in words (actions, results and
// their reasons), with filters and a CSV download of what they keep.
"use strict";
document.addEventListener("DOMContentLoaded", async () => {
  const tbody = document.getElementById("events");
  const more = document.getElementById("more");
  const form = document.getElementById("filters");
  let cursor = null;
  let rows = [];

  // query is the filters as the API reads them (dates are local days).
  const query = () => {
    const q = new URLSearchParams();
    if (form["f-action"].value) q.set("action", form["f-action"].value);
    if (form["f-result"].value) q.set("result", form["f-result"].value);
    if (form["f-target"].value.trim()) q.set("target", form["f-target"].value.trim());
    if (form["f-from"].value) q.set("from", new Date(form["f-from"].value + "T00:00:00").toISOString());
    if (form["f-to"].value) q.set("to", new Date(new Date(form["f-to"].value + "T00:00:00").getTime() + 86400000).toISOString());
    if (document.getElementById("f-bulk").checked) q.set("bulk_rows", "true");
    return q;
  };
  const label = (prefix, code) => (t(prefix + code) !== prefix + code ? t(prefix + code) : "");
  // result turns "failed:password" into words: the outcome, and its reason where known
  // (other details, such as names or counts, are data and stay as they are).
  const result = (r) => {
    const i = r.indexOf(":");
    const status = i < 0 ? r : r.slice(0, i);
    const detail = i < 0 ? "" : r.slice(i + 1);
    const words = label("audit.r.", status) || status;
    if (!detail) return words;
    return words + "（" + (label("audit.d.", detail) || detail) + "）";
  };
  const render = () => {
    tbody.replaceChildren();
    for (const ev of rows) {
      const tr = document.createElement("tr");
      if (ev.result.startsWith("failed") || ev.action === "lock" || ev.action === "mfa.lock") tr.className = "bad";
      const job = ev.action === "bulk.job" && /^(\w+):job (\S+) rows=(\d+) updated=(\d+) created=(\d+) skipped=(\d+) refused=(\d+) errors=(\d+)/.exec(ev.result);
      const outcome = job
        ? t("bulk.state." + job[1]) + "（" + t("audit.job").replace("{rows}", job[3]).replace("{updated}", job[4]).replace("{created}", job[5])
          .replace("{skipped}", job[6]).replace("{errors}", job[8]) + "）"
        : result(ev.result);
      const cells = [["audit.at", formatTime(ev.at)], ["audit.actor", ev.actor],
        ["audit.action", label("audit.a.", ev.action) || ev.action], ["audit.target", ev.target], ["audit.ip", ev.ip], ["audit.result", outcome]];
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
  };
  document.addEventListener("kagiya:lang", render);
  async function load(fresh) {
    if (fresh) { cursor = null; rows = []; }
    const q = query();
    if (cursor) q.set("cursor", cursor);
    tbody.closest("table").setAttribute("aria-busy", "true");
    const loading = document.getElementById("list-loading");
    const timer = setTimeout(() => { loading.hidden = false; }, 200);
    try {
      const res = await api("GET", "/api/admin/audit?" + q.toString());
      rows = rows.concat(res.events);
      cursor = res.next_cursor;
      more.hidden = !cursor;
      render();
    } catch (e) {
      showMessage(document.getElementById("message"), fieldMessages(e), true);
    } finally {
      clearTimeout(timer);
      loading.hidden = true;
      tbody.closest("table").removeAttribute("aria-busy");
    }
    const x = query();
    document.getElementById("export").href = "/api/admin/audit/export.csv" + (x.toString() ? "?" + x.toString() : "");
  }
  more.addEventListener("click", () => load(false));
  form.addEventListener("submit", (ev) => { ev.preventDefault(); load(true); });
  document.getElementById("f-bulk").addEventListener("change", () => load(true));
  const m = await me();
  if (!m) return;
  if (m.role === "user") { location.replace("/home.html"); return; }
  const wanted = new URLSearchParams(location.search);
  if (wanted.get("action")) form["f-action"].value = wanted.get("action");
  if (wanted.get("result")) form["f-result"].value = wanted.get("result");
  load(true);
});
