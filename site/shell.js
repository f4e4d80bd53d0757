"use strict";
// The app shell of every signed-in page: the header gets the tenant's name, navigation
// by role (the current page marked), the signed-in account and sign-out, beside the
// language switch; a skip link leads past it to the page's main content. api.js's me()
// calls renderShell once it knows who is signed in.
const SHELL_LINKS = [
  ["/home.html", "shell.home", "user"],
  ["/password.html", "pw.link", "user"],
  ["/security.html", "security.title", "user"],
  ["/admin.html", "home.admin_link", "admin"],
  ["/bulk.html", "shell.bulk", "admin"],
  ["/audit.html", "shell.audit", "admin"],
  ["/settings.html", "settings.link", "owner"],
  ["/integrations.html", "integrations.title", "owner"],
];

function renderShell(account) {
  const header = document.querySelector("body > header");
  if (!header || header.dataset.shell) return;
  header.dataset.shell = "1";
  header.classList.add("shell");
  const main = document.querySelector("main");
  if (main && !main.id) main.id = "main";
  const skip = document.createElement("a");
  skip.className = "skip";
  skip.href = "#main";
  skip.dataset.i18n = "shell.skip";
  skip.textContent = t("shell.skip");
  document.body.prepend(skip);

  const brand = header.querySelector(".brand");
  const tenant = document.createElement("span");
  tenant.className = "tenant";
  tenant.textContent = account.tenant_name || "";
  brand.after(tenant);

  const rank = { user: 0, admin: 1, owner: 2 };
  const nav = document.createElement("nav");
  nav.dataset.i18nLabel = "shell.nav";
  nav.setAttribute("aria-label", t("shell.nav"));
  const ul = document.createElement("ul");
  for (const [href, key, role] of SHELL_LINKS) {
    if (rank[account.role] < rank[role]) continue;
    const li = document.createElement("li");
    const a = document.createElement("a");
    a.href = href;
    a.dataset.i18n = key;
    a.textContent = t(key);
    if (location.pathname === href || (href === "/home.html" && location.pathname === "/")) a.setAttribute("aria-current", "page");
    li.append(a);
    ul.append(li);
  }
  nav.append(ul);

  const who = document.createElement("span");
  who.className = "who";
  who.id = "shell-account";
  who.textContent = account.login_id;
  const out = document.createElement("button");
  out.type = "button";
  out.id = "shell-signout";
  out.className = "secondary";
  out.dataset.i18n = "home.signout";
  out.textContent = t("home.signout");
  out.addEventListener("click", async () => {
    try { await api("POST", "/api/logout"); } catch (_) { /* signed out already, or offline: leave anyway */ }
    sessionStorage.removeItem("kagiya.csrf");
    location.assign("/index.html");
  });
  const tools = document.createElement("div");
  tools.className = "tools";
  const lang = document.getElementById("lang-switch");
  tools.append(who, out);
  if (lang) tools.append(lang);
  header.append(nav, tools);
}
