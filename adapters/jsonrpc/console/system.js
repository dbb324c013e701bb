// Health of each component, storage (usage bar, free-space floor), the retention policy
// (editable by admins), key metrics and the version.
import { h, act, bytes, badge, allows } from "./ui.js";

export async function render(ctx, root) {
  const admin = allows(ctx.role, "admin");
  const status = await ctx.rpc.call("get_status");
  root.append(h("h1", {}, "System ", badge(status.status)),
    h("p", { class: "meta", id: "version" }, `${ctx.server.name} ${status.version} · media ${ctx.server.media_mode} (configured ${ctx.server.configured_media_mode || "?"}) · up ${Math.round(status.uptime)} s`));
  root.append(h("h2", {}, "Components"), h("table", { id: "components" }, h("tbody", {},
    Object.entries(status.components).map(([name, c]) => h("tr", {}, h("td", {}, name), h("td", {}, badge(c.status)),
      h("td", {}, typeof c.details === "string" ? c.details : JSON.stringify(c.details)))))));
  if (!admin) {
    root.append(h("p", { class: "meta" }, "Storage, retention and metrics are shown to admins."));
    return;
  }
  const s = await ctx.rpc.call("get_storage_info");
  const pct = Math.min(100, s.usage_percent);
  root.append(h("h2", {}, "Storage"), h("div", { class: "card" },
    h("div", { class: s.low_space_warning ? "bar low" : "bar", role: "meter", "aria-valuemin": 0, "aria-valuemax": 100,
      "aria-valuenow": pct.toFixed(1), "aria-label": "disk usage", id: "storage-bar" }, h("span", { style: null })),
    h("p", {}, `${bytes(s.used_bytes)} used of ${bytes(s.total_bytes)} (${pct.toFixed(1)} %), ${bytes(s.available_bytes)} free; floor ${bytes(s.min_free_bytes)}`,
      s.low_space_warning ? " — low space" : ""),
    h("p", { class: "meta" }, `recordings ${s.recordings_count} (${bytes(s.recordings_bytes)}), snapshots ${s.snapshots_count} (${bytes(s.snapshots_bytes)})`)));
  // The bar's width is set from script: the CSP allows no inline style attribute.
  root.querySelector("#storage-bar > span").style.width = `${pct}%`;

  const p = s.retention || {};
  const enabled = h("input", { type: "checkbox", id: "ret-enabled", checked: !!p.enabled });
  const age = h("input", { type: "number", id: "ret-age", min: "0.01", step: "any", value: p.max_age_days ?? "" });
  const size = h("input", { type: "number", id: "ret-size", min: "0.001", step: "any", value: p.max_size_gb ?? "" });
  const saved = h("span", { class: "meta", id: "ret-saved" });
  const form = h("form", { class: "card row", id: "retention" },
    h("label", { for: "ret-enabled" }, "Automatic"), enabled,
    h("label", { for: "ret-age" }, "Max age (days)"), age,
    h("label", { for: "ret-size" }, "Max size (GB)"), size,
    h("button", { type: "submit" }, "Save"), saved);
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    act(form.querySelector("button"), async () => {
      const params = { enabled: enabled.checked };
      if (age.value) params.max_age_days = Number(age.value);
      if (size.value) params.max_size_gb = Number(size.value);
      const r = await ctx.rpc.call("set_retention_policy", params);
      saved.textContent = `saved: ${JSON.stringify(r.policy)}`;
    });
  });
  root.append(h("h2", {}, "Retention"), form);

  const m = await ctx.rpc.call("get_metrics");
  const kv = (k, v) => [h("dt", {}, k), h("dd", {}, v)];
  root.append(h("h2", {}, "Metrics"), h("dl", { class: "kv card", id: "metrics" },
    kv("memory (RSS)", bytes(m.process.rss_bytes)), kv("CPU", `${m.process.cpu_percent.toFixed(1)} %`),
    kv("connections", `${m.connections.active} (${m.connections.authenticated} authenticated)`),
    kv("requests", `${m.requests.total} (${m.requests.errors} errors)`),
    kv("cameras", `${m.cameras.connected} of ${m.cameras.total} connected`),
    kv("recordings", `${m.recordings.active} active, ${m.recordings.started_total} started, ${m.recordings.failed_total} failed`),
    kv("snapshots", String(m.snapshots.total)),
    kv("events", `${m.events.published} published, ${m.events.delivered} delivered, ${m.events.dropped} dropped`)));
}
