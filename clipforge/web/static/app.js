// ClipForge web UI: plain JavaScript over the JSON API and the /ws event stream.
"use strict";

const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content || "";
const $ = (sel, root = document) => root.querySelector(sel);
const PLATFORM_NAMES = { youtube: "YouTube", x: "X", tiktok: "TikTok", instagram: "Instagram" };
const REACH = 30;  // s either side of a clip the trim handles reach (services/captions.py)
const STAGES = ["ingest", "chunk", "transcribe", "analyze", "score", "render", "report"];

// A message at the top: kind "error" (the default), "ok" (true; fades after a while) or
// "notice" (something to know, not a failure). Each can be dismissed.
let flashTimer = null;
function flash(message, kind = "error") {
  const box = $("#flash");
  if (!box) return;
  kind = kind === true ? "ok" : kind || "error";
  clearTimeout(flashTimer);
  box.replaceChildren();
  box.hidden = !message;
  if (!message) return;
  const text = document.createElement("span");
  text.textContent = message;
  const close = document.createElement("button");
  close.type = "button"; close.className = "ghost small dismiss"; close.textContent = "Dismiss";
  close.addEventListener("click", () => { box.hidden = true; });
  box.append(text, close);
  box.className = kind;
  box.setAttribute("role", kind === "error" ? "alert" : "status");
  if (kind === "ok") flashTimer = setTimeout(() => { box.hidden = true; }, 10000);
}

async function api(method, path, body) {
  const init = { method, headers: { "X-CSRF-Token": csrf() } };
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  if (response.status === 401) { location.href = "/login?next=" + encodeURIComponent(location.pathname); throw new Error("login"); }
  const data = response.status === 204 ? null : await response.json();
  if (!response.ok) {
    const error = new Error(data?.message || `${method} ${path}: ${response.status}`);
    error.code = data?.code;
    error.platforms = data?.platforms;
    throw error;
  }
  return data;
}

function clock(seconds) {
  const s = Math.max(0, seconds), m = Math.floor(s / 60);
  const h = Math.floor(m / 60);
  const rest = (s % 60).toFixed(1).padStart(4, "0");
  return h ? `${h}:${String(m % 60).padStart(2, "0")}:${rest}` : `${m}:${rest}`;
}

// A live stream still being followed (or finishing its last clips after a stop).
function isLive(stream) { return stream.live && ["processing", "stopping"].includes(stream.status); }

function setStatus(el, status) { el.textContent = status; el.dataset.status = status; }

// Live events, resumed from the last id after a reconnect.
function listen(onEvent, streamId) {
  let last = null, retry = 500;
  const open = () => {
    const params = new URLSearchParams();
    if (streamId) params.set("stream_id", streamId);
    if (last !== null) params.set("since", last);
    const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws?${params}`);
    ws.onmessage = (msg) => {
      const event = JSON.parse(msg.data);
      if (event.id) last = event.id;
      retry = 500;
      onEvent(event);
    };
    ws.onclose = () => { setTimeout(open, retry); retry = Math.min(retry * 2, 10000); };
  };
  open();
}

function reasonBars(container, reasons, limit = 5) {
  container.replaceChildren();
  const items = Object.entries(reasons || {}).filter(([, v]) => v > 0).slice(0, limit);
  const top = Math.max(...items.map(([, v]) => v), 1e-9);
  container.setAttribute("aria-label", "Score by feature: " +
    items.map(([k, v]) => `${k} ${v.toFixed(2)}`).join(", "));
  for (const [name, value] of items) {
    const row = document.createElement("div");
    row.className = "reason";
    const label = document.createElement("span"); label.textContent = name.replaceAll("_", " ");
    const bar = document.createElement("span"); bar.className = "bar";
    bar.style.width = `${(100 * value / top).toFixed(1)}%`;
    const num = document.createElement("span"); num.textContent = value.toFixed(2);
    row.append(label, bar, num);
    container.append(row);
  }
}

// ---- Dashboard -------------------------------------------------------------------
const EVENT_STAGE = {
  "stream.ingested": "ingest", "stream.chunked": "chunk", "highlights.scored": "score",
};

// "1:30.0 · 3 clips · es": length, clips so far and the spoken language.
function streamMeta(stream) {
  const clips = stream.clips ?? 0;
  const language = stream.language ? ` · ${stream.language}` : "";
  return `${clock(stream.duration)} · ${clips} clip${clips === 1 ? "" : "s"}${language}`;
}

function stageCell(streamId, stage) {
  const id = `p-${streamId}-${stage}`;
  const cell = document.createElement("div");
  cell.className = "stage";
  cell.innerHTML = `<label for="${id}"></label><progress id="${id}" max="1" value="0"></progress>`;
  $("label", cell).textContent = stage;
  cell.dataset.stage = stage;
  return cell;
}

async function dashboard() {
  const list = $("#streams"), rows = new Map();

  function row(stream) {
    let li = rows.get(stream.id);
    if (!li) {
      li = $("#stream-row").content.firstElementChild.cloneNode(true);
      li.dataset.streamId = stream.id;
      const stages = $(".stages", li);
      for (const stage of STAGES) stages.append(stageCell(stream.id, stage));
      rows.set(stream.id, li);
      list.prepend(li);
    }
    const link = $(".name", li);
    link.textContent = stream.name || `Stream ${stream.id}`;
    link.href = `/streams/${stream.id}`;
    setStatus($(".status", li), stream.status);
    $(".live", li).hidden = !isLive(stream);
    $(".meta", li).textContent = streamMeta(stream);
    // Only a stream asked to detect its language has that stage: its bar follows ingest.
    if ((stream.stages || []).some((s) => s.stage === "language")
        && !document.getElementById(`p-${stream.id}-language`)) {
      $(`.stage[data-stage=ingest]`, li).after(stageCell(stream.id, "language"));
    }
    const error = $(".error", li);
    error.hidden = !stream.error;
    error.textContent = stream.error || "";
    for (const stage of stream.stages || []) {
      const done = stage.jobs ? stage.done / stage.jobs : 0;
      progress(stream.id, stage.stage, stage.status === "done" ? 1 : done);
    }
    $("#no-streams").hidden = rows.size > 0;
  }

  function progress(streamId, stage, fraction) {
    const bar = document.getElementById(`p-${streamId}-${stage}`);
    if (bar && fraction >= bar.value) bar.value = fraction;
  }

  async function refresh(id) { row(await api("GET", `/api/streams/${id}`)); }

  listen((event) => {
    const id = event.stream_id;
    if (!id) return;
    if (!rows.has(id) || ["stream.submitted", "stream.completed", "job.failed",
        "stream.cancelled", "clip.rendered"].includes(event.name)) {
      refresh(id).catch((err) => flash(err.message));
    }
    if (event.name === "job.progress") progress(id, event.payload.stage, event.payload.fraction);
    if (event.name === "stream.notice") flash(event.payload.message, "notice");
    if (EVENT_STAGE[event.name]) progress(id, EVENT_STAGE[event.name], 1);
  });

  $("#url-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const stream = await api("POST", "/api/streams", { url: $("#url").value });
      row(stream);
      flash(`Submitted: ${stream.name}`, true);
    } catch (err) { flash(err.message); }
  });

  $("#upload-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const file = $("#file").files[0];
    if (!file) return;
    const form = new FormData();
    form.append("file", file);
    form.append("top", $("#top").value || "5");
    const chat = $("#chat").files[0];
    if (chat) form.append("chat", chat);
    form.append("streamer", $("#streamer").value || "default");
    // Empty: the streamer's own default applies.
    if ($("#upload-layout").value) form.append("layout", $("#upload-layout").value);
    const style = $("#upload-caption-style").value;
    if (style) form.append("caption_style", style);
    const bar = $("#upload-progress");
    bar.hidden = false; bar.value = 0;
    const xhr = new XMLHttpRequest();  // fetch cannot report upload progress
    xhr.open("POST", "/api/streams/upload");
    xhr.setRequestHeader("X-CSRF-Token", csrf());
    xhr.upload.onprogress = (p) => { if (p.lengthComputable) bar.value = p.loaded / p.total; };
    xhr.onload = () => {
      const data = JSON.parse(xhr.responseText || "{}");
      if (xhr.status === 201) { bar.value = 1; row(data); flash(`Uploaded: ${data.name}`, true); $("#upload-form").reset(); }
      else flash(data.message || `Upload failed (${xhr.status})`);
    };
    xhr.onerror = () => flash("Upload failed: the connection dropped");
    xhr.send(form);
  });
  // Loaded after the forms are live: a click on Upload never submits the bare form.
  const streamers = await api("GET", "/api/streamers?limit=200");
  for (const s of streamers.items) {
    if (s.name === "default") continue;
    const option = document.createElement("option");
    option.value = option.textContent = s.name;
    $("#streamer").append(option);
  }
  const page = await api("GET", "/api/streams?limit=50");
  for (const stream of page.items.reverse()) await refresh(stream.id);
  $("#no-streams").hidden = rows.size > 0;
}

// ---- Stream page -----------------------------------------------------------------
async function streamPage() {
  const id = document.body.dataset.streamId;

  async function load() {
    const [stream, timeline] = await Promise.all([
      api("GET", `/api/streams/${id}`), api("GET", `/api/streams/${id}/timeline`)]);
    setStatus($("#stream-status"), stream.status);
    $("#stream-live").hidden = !isLive(stream);
    $("#stop-live").hidden = !(isLive(stream) && stream.status === "processing");
    $("#stream-meta").textContent = streamMeta(stream);
    $("#stream-notices").replaceChildren(...stream.notices.map((text) => {
      const li = document.createElement("li"); li.textContent = text; return li; }));
    drawTimeline(timeline);
    const list = $("#clips");
    list.replaceChildren();
    for (const clip of timeline.clips) {
      const li = $("#clip-card").content.firstElementChild.cloneNode(true);
      const href = `/clips/${clip.id}`;
      $(".thumb", li).href = href;
      $(".thumb", li).setAttribute("aria-label", `Review clip ${clip.rank}`);
      if (clip.thumbnail_url) $("img", li).src = `${clip.thumbnail_url}?r=${clip.revision}`;
      else $("img", li).remove();
      $(".title", li).textContent = `#${clip.rank} ${clip.title}`;
      $(".title", li).href = href;
      $(".meta", li).innerHTML = "";
      const badge = document.createElement("span");
      badge.className = "badge"; setStatus(badge, clip.status);
      $(".meta", li).append(`${clock(clip.start)}–${clock(clip.end)} · ${(clip.end - clip.start).toFixed(1)} s · score ${clip.score.toFixed(2)} `, badge);
      reasonBars($(".reasons", li), clip.reasons);
      window.streamBatch?.card(li, clip);  // selection, score and reason (stream_batch.js)
      list.append(li);
    }
    $("#no-clips").hidden = timeline.clips.length > 0;
    window.streamBatch?.loaded(stream, timeline.clips);
  }

  function drawTimeline(timeline) {
    const svg = $("#timeline"), ns = "http://www.w3.org/2000/svg";
    svg.replaceChildren();
    const curve = timeline.curve, n = Math.max(curve.length, 1);
    const hi = Math.max(...curve, 1e-6);
    const x = (t) => (1000 * t / Math.max(timeline.duration, 1)).toFixed(1);
    const y = (v) => (115 - 105 * Math.max(v, 0) / hi).toFixed(1);
    if (curve.length) {  // drawn first: the clip regions above it take every click
      const points = curve.map((v, i) => `${(1000 * i / n).toFixed(1)},${y(v)}`).join(" ");
      const area = document.createElementNS(ns, "polygon");
      area.setAttribute("class", "area");
      area.setAttribute("points", `0,115 ${points} 1000,115`);
      const line = document.createElementNS(ns, "polyline");
      line.setAttribute("class", "curve");
      line.setAttribute("points", points);
      svg.append(area, line);
    }
    for (const clip of timeline.clips) {
      const rect = document.createElementNS(ns, "rect");
      rect.setAttribute("class", "clipmark");
      rect.setAttribute("x", x(clip.start)); rect.setAttribute("y", 0);
      rect.setAttribute("width", Math.max(2, x(clip.end) - x(clip.start)));
      rect.setAttribute("height", 120);
      rect.setAttribute("tabindex", "0");
      rect.setAttribute("role", "link");
      rect.setAttribute("aria-label", `Clip ${clip.rank}: ${clip.title}, ${clock(clip.start)} to ${clock(clip.end)}`);
      const go = () => { location.href = `/clips/${clip.id}`; };
      rect.addEventListener("click", go);
      rect.addEventListener("keydown", (e) => { if (e.key === "Enter") go(); });
      svg.append(rect);
    }
    drawAxis(timeline.duration);
  }

  // Time labels under the timeline, at round steps, as many as fit without touching.
  let axisDuration = 0;
  function drawAxis(duration) {
    const axis = $("#timeline-axis");
    axisDuration = duration;
    axis.replaceChildren();
    const fit = Math.max(2, Math.floor(axis.getBoundingClientRect().width / 80));
    const steps = [5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200];
    const step = steps.find((s) => duration / s <= fit - 1) || 14400;
    for (let t = 0; t <= duration; t += step) {
      const tick = document.createElement("span");
      tick.textContent = clock(t);
      tick.style.left = `${(100 * t / Math.max(duration, 1)).toFixed(2)}%`;
      axis.append(tick);
    }
  }
  window.addEventListener("resize", () => { if (axisDuration) drawAxis(axisDuration); });

  $("#stop-live").addEventListener("click", async () => {
    $("#stop-live").disabled = true;
    try {
      await api("POST", `/api/streams/${id}/stop`);
      flash("Stopping: the last clips are being made.", true);
      await load();
    } catch (err) { flash(err.message); } finally { $("#stop-live").disabled = false; }
  });
  window.streamBatch?.init(id, load);
  await load();
  listen((event) => {
    if (["stream.completed", "stream.notice", "clip.rendered", "clip.approved", "clip.rejected", "clip.edited"].includes(event.name)) {
      load().catch((err) => flash(err.message));
    }
    window.streamBatch?.event(event);
  }, id);
}

// ---- Clip review -----------------------------------------------------------------
async function clipPage() {
  const id = document.body.dataset.clipId, streamId = document.body.dataset.streamId;
  let clip = null, words = [], order = [];
  const video = $("#clip-video"), preview = $("#preview");
  const start = $("#trim-start"), end = $("#trim-end");

  async function load() {
    clip = await api("GET", `/api/clips/${id}`);
    words = clip.nearby;  // the clip's words and those the handles can reach
    $("#title").value = clip.title;
    $("#layout").value = clip.layout || "auto";
    $("#caption-style").value = clip.caption_style || "";
    setStatus($("#clip-status"), clip.status);
    $("#clip-rank").textContent = `Clip #${clip.rank} · score ${clip.score.toFixed(2)}`;
    if (clip.video_url) {
      video.src = `${clip.video_url}?r=${clip.revision}`;
      $("#download").href = clip.video_url;
      $("#download").hidden = false;
    } else $("#download").hidden = true;
    reasonBars($("#reasons"), clip.reasons, 9);
    setupTrim();
    // Versions and undo (clip_history.js), the waveform under the handles
    // (clip_waveform.js): loaded before the words show, so nothing is left in flight.
    await Promise.all([window.clipHistory?.loaded(clip), window.clipWaveform?.loaded(clip)]);
    renderWords();
    ClipFormats.show(clip);  // editor_formats.js: aspect, preview, Auto's choice, regions
  }

  const SNAP = 1.0;  // s: a handle further than this from any word bound stays where it is

  function snap(t) {
    let best = t, gap = SNAP;
    for (const w of words) {
      for (const b of [w.start, w.end]) {
        if (Math.abs(b - t) < gap) { best = b; gap = Math.abs(b - t); }
      }
    }
    return best;
  }

  function setupTrim() {
    const lo = Math.max(0, clip.start - REACH), hi = Math.min(clip.stream_duration, clip.end + REACH);
    for (const r of [start, end]) { r.min = lo; r.max = hi; }
    start.value = clip.start; end.value = clip.end;
    $("#trim-min").textContent = clock(lo);
    $("#trim-max").textContent = clock(hi);
    readout();
    if (!preview.src) preview.src = `/api/streams/${streamId}/source`;
  }

  function readout() {
    $("#trim-readout").textContent = `${clock(+start.value)} – ${clock(+end.value)} (${(end.value - start.value).toFixed(1)} s)`;
    $("#start-at").textContent = clock(+start.value);
    $("#end-at").textContent = clock(+end.value);
    showInside();
  }

  for (const [handle, other, sign] of [[start, end, 1], [end, start, -1]]) {
    handle.addEventListener("input", () => {
      readout();
      preview.currentTime = +handle.value;  // instant preview of the frame at the handle
    });
    handle.addEventListener("change", () => {
      let t = snap(+handle.value);
      if (sign * (+other.value - t) < 1) t = +handle.value;  // keep at least a second
      handle.value = t;
      readout();
      preview.currentTime = t;
    });
  }

  $("#play-trim").addEventListener("click", () => {
    preview.currentTime = +start.value;
    preview.play().catch(() => {});
    const stop = () => { if (preview.currentTime >= +end.value) { preview.pause(); preview.removeEventListener("timeupdate", stop); } };
    preview.addEventListener("timeupdate", stop);
  });

  // One input per heard word, named by its time; words outside the trim are hidden, and
  // their edits are kept for when the clip is lengthened again.
  function renderWords() {
    const box = $("#words");
    box.replaceChildren();
    for (const w of words) {
      const input = document.createElement("input");
      input.value = w.word;
      input.placeholder = w.heard;
      input.size = Math.max(3, input.value.length);
      input.setAttribute("aria-label", `Word at ${clock(w.start)}, heard as “${w.heard}”`);
      input.dataset.start = w.start;
      input.dataset.end = w.end;
      input.dataset.shown = w.word;
      input.classList.toggle("edited", w.word !== w.heard);
      box.append(input);
    }
    showInside();
  }

  function showInside() {
    for (const input of document.querySelectorAll("#words input")) {
      input.hidden = !(+input.dataset.end > +start.value && +input.dataset.start < +end.value);
    }
  }

  function wordEdits() {
    return [...document.querySelectorAll("#words input")]
      .filter((i) => i.value.trim() !== i.dataset.shown)
      .map((i) => ({ start: +i.dataset.start, word: i.value.trim() }));
  }

  $("#edit-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const changes = {};
    if ($("#title").value !== clip.title) changes.title = $("#title").value;
    if (Math.abs(+start.value - clip.start) > 0.005) changes.start = +(+start.value).toFixed(3);
    if (Math.abs(+end.value - clip.end) > 0.005) changes.end = +(+end.value).toFixed(3);
    if ($("#layout").value !== (clip.layout || "auto")) changes.layout = $("#layout").value;
    const style = $("#caption-style").value;
    if (style && style !== (clip.caption_style || "")) changes.caption_style = style;
    const edits = wordEdits();
    if (edits.length) changes.words = edits;
    Object.assign(changes, ClipFormats.changes());
    if (!Object.keys(changes).length) { flash("Nothing changed.", "notice"); return; }
    try {
      $("#save").disabled = true;
      await api("PATCH", `/api/clips/${id}`, changes);
      $("#render-status").textContent = "Rendering…";
      flash("");
    } catch (err) { flash(err.message); $("#save").disabled = false; }
  });

  async function review(verdict) {
    try {
      const result = await api("POST", `/api/clips/${id}/${verdict}`);
      setStatus($("#clip-status"), result.status);
      flash(`Clip ${result.status}.`, true);
      window.clipHistory?.refresh();
      if (result.publishing?.length) await loadPublications();  // auto-publish
    } catch (err) { flash(err.message); }
  }

  async function go(step) {
    if (!order.length) {
      const page = await api("GET", `/api/streams/${streamId}/clips?limit=200`);
      order = page.items.map((c) => c.id);
    }
    const next = order[order.indexOf(id) + step];
    if (next) location.href = `/clips/${next}`;
    else flash(step > 0 ? "This is the last clip." : "This is the first clip.", "notice");
  }

  let polling = null;
  async function loadPublications() {
    const page = await api("GET", `/api/publications?clip_id=${id}`);
    const list = $("#publications");
    list.replaceChildren();
    for (const p of page.items) {
      const li = document.createElement("li");
      li.dataset.platform = p.platform;
      const badge = document.createElement("span");
      badge.className = "badge"; setStatus(badge, p.status);
      li.append(`${PLATFORM_NAMES[p.platform] || p.platform}: `, badge, " ");
      if (p.url) {
        const link = document.createElement("a");
        link.href = p.url; link.textContent = p.url; link.rel = "noopener";
        li.append(link);
      }
      if (p.error) {
        const why = document.createElement("span");
        why.className = p.status === "failed" ? "error" : "hint";
        why.textContent = p.error;
        li.append(why);
      }
      list.append(li);
    }
    // Retries change no event: look again while something is on its way.
    const busy = page.items.some((p) => ["queued", "publishing", "retrying"].includes(p.status));
    clearTimeout(polling);
    if (busy) polling = setTimeout(() => loadPublications().catch(() => {}), 3000);
  }

  // Only platforms with a connected account are ticked; the others say so.
  let connected = new Set();
  async function loadAccounts() {
    const stream = await api("GET", `/api/streams/${streamId}`);
    const accounts = stream.streamer_id == null ? []
      : await api("GET", `/api/streamers/${stream.streamer_id}/accounts`);
    connected = new Set(accounts.filter((a) => a.status === "connected").map((a) => a.platform));
    for (const platform of Object.keys(PLATFORM_NAMES)) {
      $(`#pub-${platform}`).checked = connected.has(platform);
      $(`#pub-${platform}-note`).hidden = connected.has(platform);
    }
  }

  // Shown next to the Publish button, where the eye is, naming every platform at fault.
  function publishError(text, link = false) {
    const box = $("#publish-error");
    box.replaceChildren(text);
    if (link) {
      const a = document.createElement("a");
      a.href = "/streamers"; a.textContent = "Connect accounts on the Streamers page.";
      box.append(" ", a);
    }
    box.hidden = !text;
  }

  function noAccount(platforms) {
    const names = platforms.map((p) => PLATFORM_NAMES[p] || p);
    publishError(`Not published: no ${names.join(" or ")} account is connected for this streamer.`, true);
  }

  $("#publish-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const platforms = Object.keys(PLATFORM_NAMES).filter((p) => $(`#pub-${p}`).checked);
    const when = $("#pub-at").value;
    if (!platforms.length) { publishError("Tick a platform to publish to."); return; }
    if (!["approved", "published"].includes($("#clip-status").dataset.status)) {
      publishError("Approve the clip before publishing it."); return;
    }
    const missing = platforms.filter((p) => !connected.has(p));
    if (missing.length) { noAccount(missing); return; }
    try {
      await api("POST", `/api/clips/${id}/publish`, {
        platforms, publish_at: when ? new Date(when).toISOString() : null });
      publishError("");
      await loadPublications();
    } catch (err) {
      if (err.code === "no_account") noAccount(err.platforms || platforms);
      else publishError(err.message);
    }
  });

  $("#approve").addEventListener("click", () => review("approve"));
  $("#reject").addEventListener("click", () => review("reject"));
  $("#next").addEventListener("click", () => go(1));
  $("#prev").addEventListener("click", () => go(-1));
  document.addEventListener("keydown", (e) => {
    const typing = ["INPUT", "SELECT", "TEXTAREA"].includes(document.activeElement?.tagName);
    if (typing || e.ctrlKey || e.metaKey || e.altKey) return;
    const key = e.key.toLowerCase();
    if (key === "a") review("approve");
    else if (key === "r") review("reject");
    else if (key === "j") go(1);
    else if (key === "k") go(-1);
    else return;
    e.preventDefault();
  });

  window.clipHistory?.init(id, () => load());
  // Everything but the editor first: once the words show, nothing is left in flight.
  await loadAccounts();
  await loadPublications();
  await load();
  listen((event) => {
    if (event.payload?.clip_id !== id) return;
    if (event.name === "clip.published" || event.payload?.stage === "publish") {
      if (event.name === "clip.published") setStatus($("#clip-status"), "published");
      loadPublications().catch((err) => flash(err.message));
    } else if (event.name === "clip.rendered") {
      $("#render-status").textContent = "Rendered.";
      $("#save").disabled = false;
      load().catch((err) => flash(err.message));
    } else if (event.name === "job.failed") {
      $("#render-status").textContent = `Render failed: ${event.payload.error}`;
      $("#save").disabled = false;
    }
  }, streamId);
}

// ---- Streamers -------------------------------------------------------------------
// A streamer's text settings: hashtags and each platform's template.
const TEXT_SETTINGS = ["hashtags", "title_template", "description_template", "post_template",
                       "tiktok_template", "instagram_template"];

async function streamersPage() {
  const list = $("#streamers");

  async function load() {
    const page = await api("GET", "/api/streamers?limit=200");
    list.replaceChildren();
    for (const s of page.items) list.append(await card(s));
  }

  async function card(s) {
    const li = $("#streamer-card").content.firstElementChild.cloneNode(true);
    const form = $(".streamer-edit", li);
    form.name.value = s.name;
    form.channel.value = s.channel || "";
    form.layout.value = s.settings.layout || "auto";
    form.caption_style.value = s.settings.caption_style || "classic";
    form.caption_size.value = s.settings.caption_size || "";
    form.caption_colour.value = s.settings.caption_colour || "#ffffff";
    form.preset_colour.checked = !s.settings.caption_colour;
    form.facecam.value = s.settings.facecam || "";
    form.gameplay.value = s.settings.gameplay || "";
    form.aspect.value = s.settings.aspect || "9:16";
    const auto = String(s.settings.auto_publish || "").split(/[\s,]+/);
    for (const platform of Object.keys(PLATFORM_NAMES)) {
      form[`auto_${platform}`].checked = auto.includes(platform);
    }
    form.privacy.value = s.settings.privacy || "public";
    form.tiktok_mode.value = s.settings.tiktok_mode || "direct";
    form.tiktok_privacy.value = s.settings.tiktok_privacy || "PUBLIC_TO_EVERYONE";
    form.instagram_share_to_feed.checked = s.settings.instagram_share_to_feed !== false;
    for (const name of TEXT_SETTINGS) form[name].value = s.settings[name] || "";
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      // Unset fields are left out: new streams then take the style preset's own values.
      const settings = { layout: form.layout.value, caption_style: form.caption_style.value };
      if (form.caption_size.value) settings.caption_size = +form.caption_size.value;
      if (!form.preset_colour.checked) settings.caption_colour = form.caption_colour.value;
      if (form.facecam.value.trim()) settings.facecam = form.facecam.value.trim();
      if (form.gameplay.value.trim()) settings.gameplay = form.gameplay.value.trim();
      settings.aspect = form.aspect.value;
      settings.auto_publish = Object.keys(PLATFORM_NAMES)
        .filter((p) => form[`auto_${p}`].checked).join(",");
      settings.privacy = form.privacy.value;
      settings.tiktok_mode = form.tiktok_mode.value;
      settings.tiktok_privacy = form.tiktok_privacy.value;
      settings.instagram_share_to_feed = form.instagram_share_to_feed.checked;
      for (const name of TEXT_SETTINGS) settings[name] = form[name].value;
      try {
        await api("PATCH", `/api/streamers/${s.id}`, {
          name: form.name.value, channel: form.channel.value || null, settings });
        flash(`Saved ${form.name.value}.`, true);
      } catch (err) { flash(err.message); }
    });
    const faces = $(".faces", li);
    for (const face of await api("GET", `/api/streamers/${s.id}/faces`)) {
      const item = document.createElement("li");
      const img = document.createElement("img");
      img.src = face.image_url; img.alt = `Reference face ${face.id} of ${s.name}`;
      const remove = document.createElement("button");
      remove.type = "button"; remove.className = "ghost small"; remove.textContent = "Remove";
      remove.setAttribute("aria-label", `Remove reference face ${face.id}`);
      remove.addEventListener("click", async () => {
        try { await api("DELETE", `/api/streamers/${s.id}/faces/${face.id}`); item.remove(); }
        catch (err) { flash(err.message); }
      });
      item.append(img, remove);
      faces.append(item);
    }
    for (const platform of Object.keys(PLATFORM_NAMES)) {
      $(`.connect-${platform}`, li).href = `/accounts/connect/${platform}?streamer_id=${s.id}`;
    }
    const accounts = $(".accounts", li);
    for (const account of await api("GET", `/api/streamers/${s.id}/accounts`)) {
      const item = document.createElement("li");
      item.dataset.platform = account.platform;
      const badge = document.createElement("span");
      badge.className = "badge"; setStatus(badge, account.status);
      item.append(`${PLATFORM_NAMES[account.platform] || account.platform}: ${account.name} `, badge);
      if (account.error) {
        const why = document.createElement("span");
        why.className = "error"; why.textContent = ` ${account.error}`;
        item.append(why);
      }
      const remove = document.createElement("button");
      remove.type = "button"; remove.className = "ghost small"; remove.textContent = "Disconnect";
      remove.setAttribute("aria-label", `Disconnect ${account.platform} account ${account.name}`);
      remove.addEventListener("click", async () => {
        try { await api("DELETE", `/api/streamers/${s.id}/accounts/${account.id}`); item.remove(); }
        catch (err) { flash(err.message); }
      });
      item.append(" ", remove);
      accounts.append(item);
    }
    if (!accounts.children.length) accounts.innerHTML = "<li class=\"hint\">None connected.</li>";
    const faceForm = $(".face-form", li);
    faceForm.addEventListener("submit", async (e) => {
      e.preventDefault();
      const body = new FormData();
      body.append("image", faceForm.image.files[0]);
      try { await api("POST", `/api/streamers/${s.id}/faces`, body); await load(); flash("Face added.", true); }
      catch (err) { flash(err.message); }
    });
    return li;
  }

  // Back from the OAuth callback: codes only (api/connect.py FLASHES), never free text.
  const FLASHES = {
    unknown_platform: "Connect YouTube, X, TikTok or Instagram.",
    not_configured: "This platform's OAuth client is not configured on the server (see its log).",
    no_public_url: "This server does not know its public address yet, so accounts cannot be connected; ask whoever runs it to set it.",
    stale_state: "The sign-in came back expired or from another browser; press Connect again.",
    not_granted: "Access was not granted.",
    failed: "The account could not be connected; the server's log has the details.",
  };
  const back = new URLSearchParams(location.search);
  if (PLATFORM_NAMES[back.get("connected")]) {
    flash(`Connected ${PLATFORM_NAMES[back.get("connected")]}.`, true);
  } else if (back.get("error")) flash(FLASHES[back.get("error")] || FLASHES.failed);

  $("#streamer-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const form = e.target;
    try {
      await api("POST", "/api/streamers", { name: form.name.value, platform: form.platform.value,
                                           channel: form.channel.value || null });
      form.reset();
      await load();
      flash("Streamer added.", true);
    } catch (err) { flash(err.message); }
  });
  await load();
}

const PAGES = { dashboard, stream: streamPage, clip: clipPage, streamers: streamersPage };
document.addEventListener("DOMContentLoaded", () => {
  const page = PAGES[document.body.dataset.page];
  if (page) page().catch((err) => { if (err.message !== "login") flash(err.message); });
});
