// One camera: capabilities, snapshot (shown at once), recording with a running timer,
// stream start/stop and the stream URLs to copy. Controls the role may not use are absent.
import { h, act, badge, clock, allows, copyField } from "./ui.js";
import { liveTile } from "./live.js";

export async function render(ctx, root, [device]) {
  const st = await ctx.rpc.call("get_camera_status", { device });
  const operator = allows(ctx.role, "operator");
  const live = liveTile(ctx.rpc, device, ctx.server.media_mode);
  root.append(
    h("p", {}, h("a", { href: "#/cameras" }, "← Cameras")),
    h("h1", {}, `${device} `, badge(st.status)),
    h("p", { class: "meta" }, `${st.name} · ${st.resolution} @ ${st.fps ?? "?"} fps`));
  const side = h("div", { class: "card" });
  root.append(h("div", { class: "two" }, h("div", {}, live.el, h("div", { id: "snapshot-view", class: "viewer" })), side));
  let timer = null;
  let refresher = null;

  if (operator) {
    const snapView = root.querySelector("#snapshot-view");
    const snapBtn = h("button", { type: "button", id: "take-snapshot", onclick: () => act(snapBtn, async () => {
      const r = await ctx.rpc.call("take_snapshot", { device });
      snapView.replaceChildren(
        h("img", { src: r.download_url, alt: `snapshot ${r.filename}`, id: "snapshot-image", "data-filename": r.filename }),
        h("p", { class: "meta" }, `${r.filename} · ${r.width}x${r.height}`));
    }) }, "Take snapshot");

    const recState = h("span", { class: "recording", id: "recording-timer", "aria-live": "polite" });
    const recBtn = h("button", { type: "button", id: "record-button" });
    let recording = st.recording;
    const showRec = () => {
      clearInterval(timer);
      if (recording) {
        recBtn.textContent = "Stop recording"; recBtn.className = "danger";
        const started = Date.parse(recording.start_time);
        const tick = () => { recState.textContent = `● REC ${clock((Date.now() - started) / 1000)}`; };
        tick(); timer = setInterval(tick, 500);
      } else {
        recBtn.textContent = "Start recording"; recBtn.className = "";
        recState.textContent = "";
      }
    };
    recBtn.addEventListener("click", () => act(recBtn, async () => {
      if (recording) {
        const r = await ctx.rpc.call("stop_recording", { device });
        recording = null;
        showRec();
        recState.textContent = `Saved ${r.filename} (${r.duration.toFixed(1)} s)`;
        recState.dataset.filename = r.filename;
      } else {
        const r = await ctx.rpc.call("start_recording", { device });
        recording = { start_time: r.start_time, filename: r.filename };
        showRec();
      }
    }));
    showRec();
    side.append(h("h2", {}, "Actions"), h("div", { class: "row" }, snapBtn, recBtn), recState);

    // Media mode direct has no stream: an operator may ask for a fresh picture every 2 s
    // (each one is a snapshot file, kept like any other until retention removes it).
    if (ctx.server.media_mode !== "mediamtx") {
      const box = h("input", { type: "checkbox", id: "live-refresh" });
      box.addEventListener("change", () => {
        clearInterval(refresher);
        if (box.checked) {
          const shoot = () => ctx.rpc.call("take_snapshot", { device }).catch((e) => { box.checked = false; clearInterval(refresher); act(null, () => { throw e; }); });
          shoot();
          refresher = setInterval(shoot, 2000);
        }
      });
      side.append(h("div", { class: "row" }, box, h("label", { for: "live-refresh" }, "Refresh the picture every 2 s (takes snapshots)")));
    }

    if (ctx.server.media_mode === "mediamtx") {
      const s1 = h("button", { type: "button", class: "secondary", id: "start-stream", onclick: () => act(s1, async () => {
        await ctx.rpc.call("start_streaming", { device }); streamState.textContent = "stream up";
      }) }, "Start stream");
      const s2 = h("button", { type: "button", class: "secondary", id: "stop-stream", onclick: () => act(s2, async () => {
        const r = await ctx.rpc.call("stop_streaming", { device }); streamState.textContent = `stream ${r.status.toLowerCase()}`;
      }) }, "Stop stream");
      const streamState = h("span", { class: "meta" }, st.stream ? (st.stream.ready ? "stream up" : "stream idle") : "");
      side.append(h("div", { class: "row" }, s1, s2, streamState));
    }
  }

  if (ctx.server.media_mode === "mediamtx") {
    try {
      const { urls } = await ctx.rpc.call("get_stream_url", { device });
      side.append(h("h2", {}, "Stream URLs"),
        copyField("RTSP (VLC)", urls.rtsp, "url-rtsp"),
        copyField("HLS", urls.hls, "url-hls"),
        copyField("WebRTC", urls.webrtc, "url-webrtc"));
    } catch { /* streams unavailable now */ }
  }

  const caps = st.capabilities || {};
  side.append(h("h2", {}, "Capabilities"),
    h("dl", { class: "kv" },
      h("dt", {}, "Driver"), h("dd", {}, `${caps.driver || ""} (${caps.card || ""})`),
      h("dt", {}, "Current"), h("dd", {}, caps.current ? `${caps.current.pixel_format} ${caps.current.width}x${caps.current.height} @ ${caps.current.fps ?? "?"} fps` : "–"),
      h("dt", {}, "Resolutions"), h("dd", {}, (caps.resolutions || []).join(", ")),
      h("dt", {}, "Frame rates"), h("dd", {}, (caps.frame_rates || []).join(", "))),
    h("table", { id: "formats" },
      h("thead", {}, h("tr", {}, h("th", {}, "Format"), h("th", {}, "Sizes"))),
      h("tbody", {}, (caps.formats || []).map((f) => h("tr", {},
        h("td", {}, `${f.pixel_format} – ${f.description}`),
        h("td", {}, f.sizes.map((s) => s.width ? `${s.width}x${s.height} (${s.frame_rates.join("/")} fps)` : `${s.type} ≤ ${s.max_width}x${s.max_height}`).join(", ")))))));

  const off = ctx.on((method, ev) => {
    if (method === "camera_status_update" && ev.device === device) {
      root.querySelector("h1 .badge").replaceWith(badge(ev.status));
    }
  });
  return () => { off(); live.stop(); clearInterval(timer); clearInterval(refresher); };
}
