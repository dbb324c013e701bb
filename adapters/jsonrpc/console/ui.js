// DOM helpers and formatting shared by the pages.

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "text") el.textContent = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function showError(e) {
  const box = document.getElementById("error");
  if (!e) { box.hidden = true; box.textContent = ""; return; }
  box.textContent = e.message || String(e);
  box.hidden = false;
}

// Runs an action from a control, showing any API error as its message.
export async function act(button, fn) {
  if (button) button.disabled = true;
  try { showError(null); return await fn(); }
  catch (e) { showError(e); }
  finally { if (button) button.disabled = false; }
}

export function bytes(n) {
  if (n === null || n === undefined) return "–";
  const u = ["B", "KB", "MB", "GB", "TB"];
  let i = 0; let v = n;
  while (v >= 1000 && i < u.length - 1) { v /= 1000; i++; }
  return `${v.toFixed(i ? 1 : 0)} ${u[i]}`;
}

export function when(ts) {
  if (!ts) return "–";
  const d = new Date(ts);
  return isNaN(d) ? ts : d.toLocaleString();
}

export function clock(secs) {
  const s = Math.max(0, Math.floor(secs));
  const hh = String(Math.floor(s / 3600)).padStart(2, "0");
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, "0");
  const ss = String(s % 60).padStart(2, "0");
  return `${hh}:${mm}:${ss}`;
}

export function badge(status) { return h("span", { class: `badge ${status}` }, status); }

// A read-only field with a copy button (the clipboard API needs a secure context; the
// field is selected otherwise so the keyboard can copy it).
export function copyField(label, value, id) {
  const input = h("input", { id, value, readonly: true });
  const btn = h("button", { type: "button", class: "secondary", onclick: async () => {
    input.select();
    try { await navigator.clipboard.writeText(value); btn.textContent = "Copied"; }
    catch { btn.textContent = "Press Ctrl+C"; }
  } }, "Copy");
  return h("div", { class: "urls" }, h("label", { for: id }, label), h("div", { class: "row" }, input, btn));
}

export const ROLES = { viewer: 0, operator: 1, admin: 2 };
export function allows(role, need) { return ROLES[role] >= ROLES[need]; }
