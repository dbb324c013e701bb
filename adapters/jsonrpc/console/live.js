// A camera's live picture: WebRTC through MediaMTX (WHEP) while streams are available,
// HLS when WebRTC fails and the browser plays HLS itself, and in media mode `direct` the
// camera's newest snapshot refreshed every 2 s. Returns {el, stop}.
import { h } from "./ui.js";

async function whep(url, video) {
  const pc = new RTCPeerConnection();
  pc.addTransceiver("video", { direction: "recvonly" });
  pc.ontrack = (e) => { video.srcObject = e.streams[0] || new MediaStream([e.track]); };
  await pc.setLocalDescription(await pc.createOffer());
  // The whole offer at once: wait for the (loopback / LAN) candidates, briefly.
  await new Promise((resolve) => {
    if (pc.iceGatheringState === "complete") return resolve();
    const t = setTimeout(resolve, 2000);
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") { clearTimeout(t); resolve(); }
    });
  });
  const res = await fetch(url, { method: "POST", headers: { "Content-Type": "application/sdp" }, body: pc.localDescription.sdp });
  if (res.status !== 201) { pc.close(); throw new Error(`WHEP answered ${res.status}`); }
  await pc.setRemoteDescription({ type: "answer", sdp: await res.text() });
  return pc;
}

export function liveTile(rpc, device, mediaMode) {
  const box = h("div", { class: "media", "data-live": device }, "Connecting…");
  let stopped = false;
  let timer = null;
  let pc = null;
  const via = (text) => { box.dataset.via = text; box.append(h("span", { class: "via" }, text)); };

  async function snapshots() {
    const img = h("img", { alt: `${device}: newest snapshot` });
    let shown = null;
    const refresh = async () => {
      if (stopped) return;
      try {
        const r = await rpc.call("list_snapshots", { device, limit: 1 });
        const f = r.files[0];
        if (!f) { if (!shown) box.replaceChildren("No picture yet: take a snapshot"); }
        else if (f.filename !== shown) {
          shown = f.filename;
          img.src = f.download_url;
          box.replaceChildren(img);
          via("snapshot");
        }
      } catch { /* shown again at the next refresh */ }
      timer = setTimeout(refresh, 2000);
    };
    refresh();
  }

  async function start() {
    if (mediaMode !== "mediamtx") return snapshots();
    let urls;
    try { urls = (await rpc.call("get_stream_url", { device })).urls; }
    catch { return snapshots(); }
    const video = h("video", { muted: true, autoplay: true, playsinline: true });
    video.muted = true;
    try {
      pc = await whep(urls.whep || `${urls.webrtc}whep`, video);
      if (stopped) { pc.close(); return; }
      box.replaceChildren(video);
      via("WebRTC");
      return;
    } catch { /* fall back to HLS */ }
    if (urls.hls && video.canPlayType("application/vnd.apple.mpegurl")) {
      video.src = urls.hls;
      box.replaceChildren(video);
      via("HLS");
      return;
    }
    return snapshots();
  }
  start();
  return {
    el: box,
    stop() { stopped = true; clearTimeout(timer); if (pc) pc.close(); },
  };
}
