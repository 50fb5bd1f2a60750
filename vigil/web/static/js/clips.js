// Body-camera and drone clips on the live map: the upload form (POST /api/ingest, the file as
// the body, with a purpose), each clip's status until its analysis is done, then its camera's
// path (a line), the ground its last frame saw (the footprint), and its tracks as points with
// their trails. A live moving camera's view (topic "view") is drawn the same way and moves.
import { errorText, get, query, upload } from "./api.js";
import { el, fill } from "./util.js";

const POLL_MS = 1000;

/** The corners known of a footprint as a closed outline; with a far edge past the horizon,
 * the near edge and the camera's place (the ground it sees lies beyond). */
function outline(footprint, here) {
  const known = (footprint || []).filter(Boolean);
  if (known.length === 4) return [...known, known[0]];
  if (known.length >= 2 && here) return [here, ...known, here];
  return null;
}

function clipLine(c) {
  const placed = c.status === "done" ? ` · ${c.frames} frames · ${c.tracks} tracks, ${c.placed} on the map` : "";
  return `${c.filename}: ${c.status}${placed}`;
}

export class Clips {
  constructor(overlay, { form, list }) {
    this.overlay = overlay;
    this.list = list;
    this.shown = new Map(); // clip id -> record
    if (form) form.addEventListener("submit", (e) => this.submit(e, form));
  }

  /** The recent clips: finished ones drawn, running ones followed. */
  async load() {
    const { items } = await get("/api/ingest");
    for (const c of items.reverse()) this.follow(c);
  }

  async submit(event, form) {
    event.preventDefault();
    const file = form.querySelector("[name=file]").files[0];
    const status = form.querySelector(".clip-status");
    if (!file) return;
    const params = {
      filename: file.name,
      purpose: form.querySelector("[name=purpose]").value.trim(),
      unit: form.querySelector("[name=unit]").value.trim(),
    };
    status.textContent = `uploading ${file.name}…`;
    status.classList.remove("error");
    try {
      const clip = await upload(`/api/ingest${query(params)}`, file);
      status.textContent = `${file.name}: uploaded (${clip.size} bytes); its analysis is listed below`;
      form.reset();
      this.follow(clip);
    } catch (err) {
      status.textContent = errorText(err, "upload failed");
      status.classList.add("error");
    }
  }

  async follow(clip) {
    let c = clip;
    while (c.status === "queued" || c.status === "running") {
      this.row(c);
      await new Promise((r) => setTimeout(r, POLL_MS));
      try {
        c = await get(`/api/ingest/${c.id}`);
      } catch {
        return;
      }
    }
    if (!c.path) c = await get(`/api/ingest/${c.id}`);
    this.row(c);
    this.draw(c);
  }

  row(c) {
    const id = `clip-${c.id}`;
    let item = this.list.querySelector(`[data-clip="${c.id}"]`);
    if (!item) {
      item = el("li", { class: "clip-item", id, dataset: { clip: c.id } });
      this.list.prepend(item);
    }
    item.dataset.status = c.status;
    const note = c.error || c.note;
    fill(item, el("span", { class: "clip-line" }, clipLine(c)), note && el("span", { class: "clip-note muted" }, note));
    if (c.path && c.path.length) {
      const first = c.path[0];
      item.prepend(el("button", { type: "button", class: "link-btn", onclick: () => this.fit(c) }, "show"), " ");
      item.title = `starts at ${first.lat.toFixed(5)}, ${first.lon.toFixed(5)}`;
    }
  }

  fit(c) {
    this.overlay.fit([...c.path.map((p) => [p.lat, p.lon]), ...c.geo_tracks.filter((t) => t.lat !== null).map((t) => [t.lat, t.lon])]);
  }

  draw(c) {
    this.shown.set(c.id, c);
    const key = `clip:${c.id}`;
    const path = c.path || [];
    if (path.length > 1) this.overlay.line(`${key}:path`, { points: path.map((p) => [p.lat, p.lon]), className: `clip-path clip-${c.id}` });
    const last = [...path].reverse().find((p) => p.footprint && p.footprint.some(Boolean));
    const ring = last && outline(last.footprint, [last.lat, last.lon]);
    if (ring) this.overlay.line(`${key}:footprint`, { points: ring, className: `clip-footprint clip-${c.id}` });
    if (path.length) {
      const end = path[path.length - 1];
      this.overlay.point(`${key}:camera`, { lat: end.lat, lon: end.lon, className: `clip-camera clip-${c.id}`, label: c.filename, title: clipLine(c), dataset: { clip: c.id } });
    }
    for (const t of c.geo_tracks || []) {
      if (t.lat === null || t.lon === null) continue;
      const tkey = `${key}:track:${t.id}`;
      if (t.trail.length > 1) this.overlay.line(`${tkey}:trail`, { points: t.trail.map((p) => [p[1], p[2]]), className: `clip-trail clip-${c.id}` });
      this.overlay.point(tkey, { lat: t.lat, lon: t.lon, className: `clip-track clip-${c.id}`, label: t.label, title: `${t.label} #${t.track_id}`, dataset: { clip: c.id, track: t.id } });
    }
  }

  /** A live moving camera's view (bus topic "view"): its place and footprint, moved in place. */
  view(msg) {
    const key = `view:${msg.camera}`;
    const ring = outline(msg.footprint, [msg.lat, msg.lon]);
    if (ring) this.overlay.line(`${key}:footprint`, { points: ring, className: "view-footprint" });
    else this.overlay.remove(`${key}:footprint`);
    this.overlay.point(key, { lat: msg.lat, lon: msg.lon, className: "view-camera", label: msg.camera, title: `${msg.camera} (moving camera)`, dataset: { camera: msg.camera } });
  }
}
