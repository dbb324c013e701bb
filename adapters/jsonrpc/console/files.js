// Recordings and snapshots, newest first, filtered by camera and day, 20 a page: play a
// recording in the page (the browser asks /files with Range), view a snapshot, download,
// delete (operators, after a confirmation).
import { h, act, bytes, when, allows } from "./ui.js";

const PAGE = 20;
const FETCH = 1000; // the most one list call returns; a day's filter applies to these

export async function render(ctx, root) {
  const operator = allows(ctx.role, "operator");
  let kind = "recordings";
  let page = 0;
  let rows = [];
  const cams = await ctx.rpc.call("get_camera_list");
  const kindSel = h("select", { id: "files-kind" },
    h("option", { value: "recordings" }, "Recordings"), h("option", { value: "snapshots" }, "Snapshots"));
  const camSel = h("select", { id: "files-camera" }, h("option", { value: "" }, "All cameras"),
    cams.cameras.map((c) => h("option", { value: c.device }, c.device)));
  const day = h("input", { type: "date", id: "files-day" });
  const table = h("tbody", { id: "files-rows" });
  const pager = h("div", { class: "row", id: "files-pager" });
  const viewer = h("div", { class: "viewer", id: "file-viewer" });
  root.append(h("h1", {}, "Files"),
    h("div", { class: "row" },
      h("label", { for: "files-kind" }, "Kind"), kindSel,
      h("label", { for: "files-camera" }, "Camera"), camSel,
      h("label", { for: "files-day" }, "Day"), day),
    viewer,
    h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "File"), h("th", { class: "hide-narrow" }, "Camera"),
      h("th", {}, "Size"), h("th", { class: "hide-narrow" }, "Created"), h("th", {}, "Actions"))), table),
    pager);

  function show(f) {
    if (kind === "recordings") {
      const v = h("video", { src: f.download_url, controls: true, autoplay: true, muted: true, id: "player", "data-filename": f.filename });
      v.muted = true;
      viewer.replaceChildren(v, h("p", { class: "meta" }, f.filename));
    } else {
      viewer.replaceChildren(h("img", { src: f.download_url, alt: f.filename, id: "viewed-snapshot" }), h("p", { class: "meta" }, f.filename));
    }
  }

  function draw() {
    const slice = rows.slice(page * PAGE, page * PAGE + PAGE);
    table.replaceChildren(...slice.map((f) => {
      const actions = h("td", { class: "row" },
        h("button", { type: "button", class: "secondary", "data-action": "open", onclick: () => show(f) }, kind === "recordings" ? "Play" : "View"),
        h("a", { href: f.download_url, download: f.filename }, "Download"));
      if (operator) {
        const del = h("button", { type: "button", class: "danger", "data-action": "delete" }, "Delete");
        del.addEventListener("click", () => {
          if (del.dataset.confirm !== "1") {
            del.dataset.confirm = "1"; del.textContent = "Confirm delete";
            setTimeout(() => { del.dataset.confirm = ""; del.textContent = "Delete"; }, 5000);
            return;
          }
          act(del, async () => {
            await ctx.rpc.call(kind === "recordings" ? "delete_recording" : "delete_snapshot", { filename: f.filename });
            await load();
          });
        });
        actions.append(del);
      }
      return h("tr", { "data-filename": f.filename },
        h("td", {}, f.filename, f.in_progress ? " (recording)" : ""), h("td", { class: "hide-narrow" }, f.device || "–"),
        h("td", {}, bytes(f.file_size)), h("td", { class: "hide-narrow" }, when(f.created_time)), actions);
    }));
    if (!slice.length) table.replaceChildren(h("tr", {}, h("td", { colspan: 5 }, "No files")));
    const pages = Math.max(1, Math.ceil(rows.length / PAGE));
    pager.replaceChildren(
      h("button", { type: "button", class: "secondary", disabled: page === 0, onclick: () => { page--; draw(); } }, "Newer"),
      h("span", { class: "meta" }, `page ${page + 1} of ${pages} · ${rows.length} files`),
      h("button", { type: "button", class: "secondary", disabled: page + 1 >= pages, onclick: () => { page++; draw(); } }, "Older"));
  }

  async function load() {
    const params = { limit: FETCH };
    if (camSel.value) params.device = camSel.value;
    const r = await ctx.rpc.call(kind === "recordings" ? "list_recordings" : "list_snapshots", params);
    rows = r.files;
    if (day.value) {
      // The day in the browser's time zone.
      rows = rows.filter((f) => {
        const d = new Date(f.created_time);
        const local = `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
        return local === day.value;
      });
    }
    page = Math.min(page, Math.max(0, Math.ceil(rows.length / PAGE) - 1));
    draw();
  }
  for (const el of [kindSel, camSel, day]) el.addEventListener("change", () => { kind = kindSel.value; page = 0; viewer.replaceChildren(); act(null, load); });
  await load();
  const off = ctx.on((method) => {
    if (method === "recording_status_update" || method === "snapshot_update") load().catch(() => {});
  });
  return off;
}
