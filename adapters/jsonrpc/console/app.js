// The console's shell: login (a credential exchanged for a session cookie), the
// WebSocket client, one event subscription shared by the pages, and the hash router.
import { Rpc } from "./rpc.js";
import { h, showError, allows } from "./ui.js";
import * as cameras from "./cameras.js";
import * as camera from "./camera.js";
import * as files from "./files.js";
import * as events from "./events.js";
import * as system from "./system.js";
import * as keys from "./keys.js";

const PAGES = { cameras, camera, files, events, system, keys };
const NEED = { keys: "admin" };

const ctx = {
  rpc: null, role: null, subject: null, server: null,
  listeners: new Set(),
  log: [],                           // the newest notifications, for the events page
  on(fn) { this.listeners.add(fn); return () => this.listeners.delete(fn); },
};

async function session() {
  const r = await fetch("/session", { credentials: "same-origin" });
  return r.ok ? r.json() : null;
}

function showLogin() {
  document.getElementById("nav").hidden = true;
  document.getElementById("who").replaceChildren();
  document.getElementById("page").replaceChildren();
  const form = document.getElementById("login");
  form.hidden = false;
  document.getElementById("token").focus();
}

document.getElementById("login").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const input = document.getElementById("token");
  const r = await fetch("/session", {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ token: input.value.trim() }),
  });
  input.value = "";
  if (!r.ok) {
    let msg = `login failed (${r.status})`;
    try { const e = (await r.json()).error; msg = `${e.message}: ${e.data && e.data.details || ""}`; } catch { /* plain */ }
    showError(new Error(msg));
    return;
  }
  showError(null);
  start(await r.json());
});

async function logout() {
  await fetch("/session/logout", { method: "POST", credentials: "same-origin" });
  if (ctx.rpc) ctx.rpc.close();
  ctx.rpc = null;
  location.hash = "";
  showLogin();
}

const TOPICS = {
  viewer: ["camera.*", "system.health", "camera.controls"],
  operator: ["camera.*", "system.health", "camera.controls", "recording.*", "snapshot.taken"],
};

async function start(who) {
  ctx.role = who.role; ctx.subject = who.subject;
  document.getElementById("login").hidden = true;
  const nav = document.getElementById("nav");
  nav.hidden = false;
  for (const a of nav.querySelectorAll("[data-role]")) a.hidden = !allows(ctx.role, a.dataset.role);
  document.getElementById("who").replaceChildren(
    h("span", { id: "whoami" }, `${who.subject} (${who.role})`),
    h("button", { type: "button", class: "secondary", id: "logout", onclick: logout }, "Log out"));
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  ctx.rpc = new Rpc(`${scheme}://${location.host}/ws`);
  ctx.rpc.onstate = (state, ev) => {
    document.body.dataset.ws = state;
    // The session ended (logout elsewhere, key revoked, expiry): back to the login.
    if (state === "closed" && ev && ev.code === 1006) session().then((s) => { if (!s) { ctx.rpc.close(); showLogin(); } });
  };
  try {
    await ctx.rpc.ready;
    ctx.server = await ctx.rpc.call("get_server_info");
  } catch (e) { showError(e); return; }
  const topics = allows(ctx.role, "operator") ? TOPICS.operator : TOPICS.viewer;
  ctx.rpc.subscribe(topics, (method, event) => {
    ctx.log.unshift({ method, event });
    ctx.log.length = Math.min(ctx.log.length, 200);
    for (const fn of ctx.listeners) fn(method, event);
  }, undefined, showError);
  route();
}

let cleanup = null;
async function route() {
  if (!ctx.rpc) return;
  const [name, ...rest] = (location.hash.replace(/^#\/?/, "") || "cameras").split("/");
  const page = PAGES[name] ? name : "cameras";
  for (const a of document.querySelectorAll("#nav a")) {
    if (a.dataset.page === page || (page === "camera" && a.dataset.page === "cameras")) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  if (cleanup) { try { cleanup(); } catch { /* already gone */ } cleanup = null; }
  showError(null);
  const root = h("div", { id: `page-${page}`, "data-page": page });
  document.getElementById("page").replaceChildren(root);
  if (NEED[page] && !allows(ctx.role, NEED[page])) {
    root.append(h("p", {}, `This page needs the ${NEED[page]} role.`));
    return;
  }
  try { cleanup = await PAGES[page].render(ctx, root, rest.map(decodeURIComponent)); }
  catch (e) { showError(e); }
}

window.addEventListener("hashchange", route);

(async () => {
  const who = await session();
  if (who) start(who); else showLogin();
})();
