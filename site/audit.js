// The tenant's audit log, newest first, a page at a time.
"use strict";
document.addEventListener("DOMContentLoaded", async () => {
  const tbody = document.getElementById("events");
  const more = document.getElementById("more");
  let cursor = null;
  async function load() {
    try {
      const res = await api("GET", "/api/admin/audit" + (cursor ? "?cursor=" + encodeURIComponent(cursor) : ""));
      for (const ev of res.events) {
        const tr = document.createElement("tr");
        const cells = [["audit.at", new Date(ev.at).toLocaleString(kagiyaLang())], ["audit.actor", ev.actor], ["audit.action", ev.action],
          ["audit.target", ev.target], ["audit.ip", ev.ip], ["audit.result", ev.result]];
        for (const [label, v] of cells) { const td = document.createElement("td"); td.dataset.label = t(label); td.textContent = v; tr.append(td); }
        tbody.append(tr);
      }
      cursor = res.next_cursor;
      more.hidden = !cursor;
    } catch (e) {
      showMessage(document.getElementById("message"), e.message, true);
    }
  }
  more.addEventListener("click", load);
  const m = await me();
  if (!m) return;
  if (m.role === "user") { location.replace("/home.html"); return; }
  load();
});
