// Every camera: status, name, mode and a live tile. Cameras plugged or unplugged appear
// and change without a reload (camera_status_update events).
import { h, badge } from "./ui.js";
import { liveTile } from "./live.js";

export async function render(ctx, root) {
  root.append(h("h1", {}, "Cameras"));
  const summary = h("p", { class: "meta", id: "camera-summary" });
  const grid = h("div", { class: "grid", id: "camera-grid" });
  root.append(summary, grid);
  const tiles = new Map(); // device -> {card, live, status}

  function card(cam) {
    const status = h("span", { class: "status" }, badge(cam.status));
    const mode = h("span", { class: "meta mode" }, `${cam.resolution || "?"} @ ${cam.fps ?? "?"} fps`);
    const live = cam.status === "CONNECTED" ? liveTile(ctx.rpc, cam.device, ctx.server.media_mode) : null;
    const el = h("article", { class: "card tile", "data-device": cam.device, "data-status": cam.status },
      h("div", { class: "row" },
        h("a", { class: "title", href: `#/camera/${cam.device}` }, `${cam.device}`), status),
      h("div", { class: "meta name" }, cam.name || ""),
      mode,
      live ? live.el : h("div", { class: "media" }, cam.status));
    return { el, live, status: cam.status };
  }

  async function refresh() {
    const list = await ctx.rpc.call("get_camera_list");
    summary.textContent = `${list.connected} of ${list.total} connected · media: ${ctx.server.media_mode}`;
    const seen = new Set();
    for (const cam of list.cameras) {
      seen.add(cam.device);
      const old = tiles.get(cam.device);
      if (old && old.status === cam.status) continue;
      const fresh = card(cam);
      if (old) { if (old.live) old.live.stop(); old.el.replaceWith(fresh.el); }
      else grid.append(fresh.el);
      tiles.set(cam.device, fresh);
    }
    for (const [device, t] of tiles) {
      if (!seen.has(device)) { if (t.live) t.live.stop(); t.el.remove(); tiles.delete(device); }
    }
    // Keep the grid in the list's order (camera0, camera1, ...).
    for (const cam of list.cameras) grid.append(tiles.get(cam.device).el);
    grid.dataset.count = String(tiles.size);
  }

  await refresh();
  const off = ctx.on((method) => { if (method === "camera_status_update") refresh().catch(() => {}); });
  return () => { off(); for (const t of tiles.values()) if (t.live) t.live.stop(); };
}
