// Clip page, formats (issue 17): the aspect ratio, a preview of the layout and caption
// style drawn from the source over the player (no render needed), what "Auto" chose, and
// the facecam/gameplay region picker. app.js calls ClipFormats.show(clip) when the clip
// loads and merges ClipFormats.changes() into a save. The geometry mirrors
// analysis/layout.py and analysis/caption_place.py, so the preview is what will render.
"use strict";

const ClipFormats = (() => {
  const byId = (id) => document.getElementById(id);
  const PANE = { min: 640, max: 900, full: 1920 };  // the facecam pane's height (layout.py)
  const ROOM_ASPECT = 1.25;  // a followed facecam's window (layout.py)
  const LINE_HEIGHT = 1.25, TOP_EDGE = 0.04, CHIN = 0.15, GAP = 24;  // caption_place.py
  const SCALE = 0.5;  // the preview canvas draws at half the output's pixels
  let formats = null, clip = null, boxes = null, frameAt = null, drawing = false;

  // ---- geometry -----------------------------------------------------------------------
  const even = (v) => Math.max(2, Math.floor(v / 2) * 2);
  const clamp = (v, lo, hi) => Math.min(Math.max(v, lo), Math.max(lo, hi));

  function aspect() { return byId("aspect").value || clip.aspect || clip.stream_aspect || "9:16"; }
  function outSize(name) { return formats.aspects[name] || [1080, 1920]; }
  function source() { return [clip.source_width || 1280, clip.source_height || 720]; }

  function fitAspect([x, y, w, h], ratio, [sw, sh], centre) {
    if (w / Math.max(h, 1) > ratio) w = h * ratio; else h = w / ratio;
    const [cx, cy] = centre || [x + w / 2, y + h / 2];
    const fw = even(Math.min(w, sw)), fh = even(Math.min(h, sh));
    return [clamp(cx - fw / 2, 0, sw - fw), clamp(cy - fh / 2, 0, sh - fh), fw, fh];
  }

  function topHeight([, , w, h], [ow, oh]) {
    const lo = even(PANE.min * oh / PANE.full), hi = even(PANE.max * oh / PANE.full);
    return clamp(even(ow * h / Math.max(w, 1)), lo, hi);
  }

  // What will render: the layout and, for stacked, its panes at time t (source px).
  function plan(t) {
    const [ow, oh] = outSize(aspect()), [sw, sh] = source();
    const regions = clip.regions || {};
    let layout = byId("layout").value;
    if (aspect() === "16:9") layout = "blur";
    else if (layout === "auto") {
      layout = boxes?.edited ? "stacked" : clip.layout === "auto" && clip.rendered_layout
        ? clip.rendered_layout : regions.facecam ? "stacked" : regions.face ? "crop" : "blur";
    }
    if (layout === "crop" && sw * oh <= sh * ow) layout = "blur";
    if (layout === "waveform") layout = "blur";
    if (layout === "stacked") {
      // The panes rendered, else those the plan worked out for stacked (regions.stacked).
      const panes = regions.facecam ? regions : regions.stacked || {};
      const own = !boxes?.edited;
      const cam = own ? panes.facecam : boxes.facecam;
      if (!cam) return { layout: "blur", out: [ow, oh], missing: true };
      const sameAspect = aspect() === (clip.aspect || clip.stream_aspect);
      const lo = even(PANE.min * oh / PANE.full), hi = even(PANE.max * oh / PANE.full);
      const top = own && sameAspect && panes.top_height ? panes.top_height
        : own && panes.track ? clamp(even(ow / ROOM_ASPECT), lo, hi) : topHeight(cam, [ow, oh]);
      let camera = own && panes.track ? follow(panes.track, t, cam) : fitAspect(cam, ow / top, [sw, sh]);
      if (own && panes.track && !sameAspect) camera = fitAspect(camera, ow / top, [sw, sh]);
      const game = own ? panes.gameplay : boxes.gameplay;
      const gameplay = fitAspect(game || [0, 0, sw, sh], ow / (oh - top), [sw, sh]);
      return { layout, out: [ow, oh], top, camera, gameplay, cover: own && sameAspect ? panes.cover : null };
    }
    if (layout === "crop") {
      const h = even(sh), w = even(h * ow / oh);
      let x = (sw - w) / 2;
      if (regions.track && regions.track[0]?.length === 2) {
        const rendered = outSize(clip.aspect || clip.stream_aspect);
        const wasW = even(h * rendered[0] / rendered[1]);
        x = interpolate(regions.track, t, 1) + wasW / 2 - w / 2;
      }
      return { layout, out: [ow, oh], window: [clamp(x, 0, sw - w), 0, w, h] };
    }
    return { layout: "blur", out: [ow, oh] };
  }

  function interpolate(track, t, index) {
    if (t <= track[0][0]) return track[0][index];
    for (let i = 1; i < track.length; i++) {
      if (t <= track[i][0]) {
        const [a, b] = [track[i - 1], track[i]], k = (t - a[0]) / Math.max(b[0] - a[0], 1e-6);
        return a[index] + (b[index] - a[index]) * k;
      }
    }
    return track[track.length - 1][index];
  }

  function follow(track, t, [, , w, h]) {
    return [interpolate(track, t, 1), interpolate(track, t, 2), w, h];
  }

  // ---- captions: the preset at the output's size, placed as the render places it -------
  function captionStyle(framing) {
    const name = byId("caption-style").value || clip.caption_style || "classic";
    const base = formats.presets[name] || formats.presets.classic;
    const [w, h] = framing.out;
    const style = { ...base, name, playW: w, playH: h };
    const kind = h > w * 1.05 ? "portrait" : w > h * 1.05 ? "landscape" : "square";
    if (kind !== "portrait") {
      const k = kind === "square" ? 0.75 : 0.7;
      style.margin_v = base.position === "bottom" ? Math.round(h * (kind === "square" ? 0.10 : 0.07))
        : Math.round(base.margin_v * h / 1920);
      style.size = Math.round(base.size * k);
      style.outline = base.outline * k;
      style.line_chars = Math.round(base.line_chars * w / 1080 / k);
    }
    style.floor = h * (1 - (kind === "portrait" ? 0.2 : 0.05));
    if (framing.layout === "stacked" && style.position !== "bottom") {
      return { ...style, position: "top", margin_v: framing.top + 40 };
    }
    const face = faceInOutput(framing);
    return face ? clearOfFace(style, face) : style;
  }

  function band(style) {
    const pad = style.box ? 18 : style.outline + 2;
    const tall = style.max_lines * style.size * LINE_HEIGHT + 2 * pad;
    if (style.position === "bottom") return [style.playH - style.margin_v - tall, style.playH - style.margin_v];
    if (style.position === "top") return [style.margin_v, style.margin_v + tall];
    return [style.playH / 2 - tall / 2, style.playH / 2 + tall / 2];
  }

  function faceInOutput(framing) {
    const face = clip.regions?.face;
    if (!face || !["crop", "blur"].includes(framing.layout)) return null;
    const [sw, sh] = source(), [ow, oh] = framing.out;
    if (framing.layout === "crop") { const k = oh / framing.window[3]; return [face[0] * k, face[1] * k]; }
    const k = Math.min(ow / sw, oh / sh), off = (oh - sh * k) / 2;
    return [off + face[0] * k, off + face[1] * k];
  }

  function clearOfFace(style, [top, bottom]) {
    const low = bottom + CHIN * (bottom - top);
    const [a, b] = band(style), tall = b - a, h = style.playH;
    if (b <= top || a >= low) return style;
    if (low + GAP + tall <= style.floor) return { ...style, position: "top", margin_v: Math.round(low + GAP) };
    if (top - GAP - tall >= h * TOP_EDGE) return { ...style, position: "bottom", margin_v: Math.round(h - top + GAP) };
    if (top > h - low) return { ...style, position: "top", margin_v: Math.round(h * TOP_EDGE) };
    return { ...style, position: "bottom", margin_v: Math.round(h - style.floor) };
  }

  // The words shown (the editor's inputs, inside the trim), in pages as captions.py makes.
  function pages(style) {
    const lo = +byId("trim-start").value, hi = +byId("trim-end").value;
    const words = [...document.querySelectorAll("#words input")]
      .map((i) => ({ start: +i.dataset.start, end: +i.dataset.end, word: i.value.trim() }))
      .filter((w) => w.word && w.end > lo && w.start < hi);
    const result = [];
    let lines = [[]];
    words.forEach((word, i) => {
      const line = lines[lines.length - 1];
      const width = [...line, word].map((w) => w.word).join(" ").length;
      const full = style.words_per_line ? line.length >= style.words_per_line : width > style.line_chars;
      if (line.length && full) {
        if (lines.length === style.max_lines) { result.push(lines); lines = [[]]; } else lines.push([]);
      }
      lines[lines.length - 1].push(word);
      const next = words[i + 1];
      if (!next || /[.!?]$/.test(word.word) || next.start - word.end > 0.7) { result.push(lines); lines = [[]]; }
    });
    return result.filter((p) => p[0].length);
  }

  function pageAt(all, t) {
    for (let n = 0; n < all.length; n++) {
      const flat = all[n].flat(), nextStart = all[n + 1]?.[0][0].start ?? Infinity;
      const end = Math.min(flat[flat.length - 1].end + 0.4, nextStart);
      if (t >= flat[0].start && t < end) return { page: all[n], current: flat.filter((w) => w.start <= t).pop() };
    }
    return null;
  }

  // ---- drawing ------------------------------------------------------------------------
  function draw() {
    const canvas = byId("format-preview"), video = byId("preview");
    const framing = plan(video.currentTime || clip.start);
    const [ow, oh] = framing.out;
    if (canvas.width !== ow * SCALE || canvas.height !== oh * SCALE) {
      canvas.width = ow * SCALE; canvas.height = oh * SCALE;
    }
    canvas.style.aspectRatio = `${ow} / ${oh}`;
    const ctx = canvas.getContext("2d");
    ctx.setTransform(SCALE, 0, 0, SCALE, 0, 0);
    ctx.fillStyle = "#14161c";
    ctx.fillRect(0, 0, ow, oh);
    if (video.readyState >= 2) drawPicture(ctx, video, framing);
    const style = captionStyle(framing);
    drawCaptions(ctx, style, video.currentTime || clip.start);
    canvas.dataset.layout = framing.layout;
    canvas.dataset.aspect = aspect();
    canvas.dataset.preset = style.name;
    canvas.dataset.position = style.position;
    canvas.dataset.font = style.font;
    const [top, bottom] = band(style);
    canvas.dataset.captionBand = `${Math.round(top)},${Math.round(bottom)}`;
    const note = framing.missing ? "Stacked: draw the facecam below to preview it. " : "";
    byId("preview-note").textContent = `${note}${framing.layout}, ${aspect()} (${ow}×${oh}), ${style.name} captions`;
  }

  function drawPicture(ctx, video, framing) {
    const [ow, oh] = framing.out, [sw] = source(), k = video.videoWidth / sw;
    const part = (r, dx, dy, dw, dh) => ctx.drawImage(video, r[0] * k, r[1] * k, r[2] * k, r[3] * k, dx, dy, dw, dh);
    if (framing.layout === "crop") { part(framing.window, 0, 0, ow, oh); return; }
    if (framing.layout === "stacked") {
      part(framing.camera, 0, 0, ow, framing.top);
      part(framing.gameplay, 0, framing.top, ow, oh - framing.top);
      if (framing.cover) {
        const [gx, gy, gw, gh] = framing.gameplay, [cx, cy, cw, ch] = framing.cover;
        const fx = ow / gw, fy = (oh - framing.top) / gh;
        ctx.fillStyle = "#14161c";
        ctx.fillRect((cx - gx) * fx, framing.top + (cy - gy) * fy, cw * fx, ch * fy);
      }
      return;
    }
    const vw = video.videoWidth, vh = video.videoHeight;
    const cover = Math.max(ow / vw, oh / vh), fit = Math.min(ow / vw, oh / vh);
    ctx.filter = "blur(24px) brightness(0.85)";
    ctx.drawImage(video, (ow - vw * cover) / 2, (oh - vh * cover) / 2, vw * cover, vh * cover);
    ctx.filter = "none";
    ctx.drawImage(video, (ow - vw * fit) / 2, (oh - vh * fit) / 2, vw * fit, vh * fit);
  }

  function drawCaptions(ctx, style, t) {
    const found = pageAt(pages(style), t);
    if (!found) return;
    const lineH = style.size * LINE_HEIGHT;
    const [top] = band(style);
    const pad = style.box ? 18 : style.outline + 2;
    ctx.font = `bold ${style.size}px "${style.font}"`;
    ctx.textBaseline = "middle";
    ctx.lineJoin = "round";
    const text = (w) => (style.uppercase ? w.word.toUpperCase() : w.word);
    const lines = found.page;
    // Bottom captions grow upwards from their margin, others downwards (ASS alignment).
    const first = style.position === "bottom" ? top + (style.max_lines - lines.length) * lineH + pad : top + pad;
    lines.forEach((line, n) => {
      const widths = line.map((w) => ctx.measureText(text(w)).width);
      const space = ctx.measureText(" ").width;
      const total = widths.reduce((a, b) => a + b, 0) + space * (line.length - 1);
      let x = (style.playW - total) / 2;
      const y = first + lineH * (n + 0.5);
      if (style.box) {
        ctx.fillStyle = "rgba(0, 0, 0, 0.62)";
        ctx.fillRect(x - 18, y - lineH / 2, total + 36, lineH);
      }
      line.forEach((w, i) => {
        if (!style.box && style.outline) {
          ctx.lineWidth = style.outline * 2;
          ctx.strokeStyle = "#000";
          ctx.strokeText(text(w), x, y);
        }
        ctx.fillStyle = w === found.current ? style.highlight : style.colour;
        ctx.fillText(text(w), x, y);
        x += widths[i] + space;
      });
    });
  }

  function loop() {
    if (!drawing) return;
    draw();
    requestAnimationFrame(loop);
  }

  function showPreview(on) {
    const canvas = byId("format-preview"), video = byId("preview");
    drawing = on;
    canvas.hidden = !on;
    byId("clip-video").classList.toggle("under-preview", on);
    byId("preview-toggle").setAttribute("aria-pressed", String(on));
    byId("preview-play").hidden = !on;
    if (!on) { byId("preview-note").textContent = ""; return; }
    byId("clip-video").pause();
    if (video.readyState < 2 || video.currentTime < +byId("trim-start").value) {
      video.currentTime = +byId("trim-start").value + 0.5;
    }
    loop();
  }

  // ---- "Auto" says what it chose ------------------------------------------------------
  function autoLabel() {
    const option = byId("layout").querySelector("option[value=auto]");
    const why = clip.regions?.why;
    option.textContent = clip.layout === "auto" && clip.rendered_layout
      ? `Auto (${clip.rendered_layout}${why ? `: ${why}` : ""})`
      : "Auto (stacked over a facecam, crop on a face, else blur)";
  }

  // ---- the region picker ----------------------------------------------------------------
  // The panes as rendered (or as the plan would stack them), else a corner guess.
  function initialBoxes() {
    const [sw, sh] = source(), r = clip.regions || {}, alt = r.stacked || {};
    const rounded = (b) => b.map((v) => Math.round(v));
    return {
      edited: false,
      facecam: rounded(r.facecam || alt.facecam || [sw * 0.7, sh * 0.6, sw * 0.28, sh * 0.36]),
      gameplay: rounded(r.gameplay || alt.gameplay || [0, 0, sw * 0.6, sh]),
    };
  }

  function placeBoxes() {
    const [sw, sh] = source();
    for (const name of ["facecam", "gameplay"]) {
      const [x, y, w, h] = boxes[name], el = byId(`box-${name}`);
      Object.assign(el.style, { left: `${100 * x / sw}%`, top: `${100 * y / sh}%`,
                                width: `${100 * w / sw}%`, height: `${100 * h / sh}%` });
      const label = name === "facecam" ? "Facecam region" : "Gameplay region";
      el.setAttribute("aria-label", `${label}: x ${x}, y ${y}, ${w} by ${h} pixels`);
    }
    byId("region-readout").textContent = ["facecam", "gameplay"].map((n) =>
      `${n === "facecam" ? "Facecam" : "Gameplay"} ${boxes[n].join(", ")}`).join(" · ");
  }

  function setBox(name, [x, y, w, h]) {
    const [sw, sh] = source(), least = Math.max(16, Math.round(sw * 0.04));
    w = clamp(Math.round(w), least, sw); h = clamp(Math.round(h), least, sh);
    boxes[name] = [clamp(Math.round(x), 0, sw - w), clamp(Math.round(y), 0, sh - h), w, h];
    boxes.edited = true;
    placeBoxes();
    if (drawing) draw();
  }

  function pickerEvents() {
    const picker = byId("region-picker");
    for (const name of ["facecam", "gameplay"]) {
      const el = byId(`box-${name}`);
      el.addEventListener("keydown", (e) => {
        const moves = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
        if (!moves[e.key]) return;
        e.preventDefault();
        const [sw] = source(), step = Math.round(sw * (e.ctrlKey || e.altKey ? 0.05 : 0.01));
        const [dx, dy] = moves[e.key].map((v) => v * step);
        const [x, y, w, h] = boxes[name];
        setBox(name, e.shiftKey ? [x, y, w + dx, h + dy] : [x + dx, y + dy, w, h]);
      });
      el.addEventListener("pointerdown", (e) => {
        e.preventDefault();
        el.focus();
        const resize = e.target.classList.contains("handle");
        const rect = picker.getBoundingClientRect(), [sw, sh] = source();
        const start = [e.clientX, e.clientY], was = [...boxes[name]];
        const move = (m) => {
          const dx = (m.clientX - start[0]) * sw / rect.width, dy = (m.clientY - start[1]) * sh / rect.height;
          setBox(name, resize ? [was[0], was[1], was[2] + dx, was[3] + dy] : [was[0] + dx, was[1] + dy, was[2], was[3]]);
        };
        const up = () => { window.removeEventListener("pointermove", move); window.removeEventListener("pointerup", up); };
        window.addEventListener("pointermove", move);
        window.addEventListener("pointerup", up);
      });
    }
    byId("regions-clip").addEventListener("click", saveForClip);
    byId("regions-default").addEventListener("click", saveAsDefault);
    byId("regions-reset").addEventListener("click", async () => {
      try {
        await api("PATCH", `/api/clips/${clip.id}`, { regions: {} });
        byId("render-status").textContent = "Rendering…";
        flash("The regions go back to the detected ones; rendering.", "notice");
      } catch (err) { flash(err.message); }
    });
  }

  async function saveForClip() {
    const body = { regions: { facecam: boxes.facecam, gameplay: boxes.gameplay } };
    if (["crop", "blur"].includes(byId("layout").value)) {
      byId("layout").value = "stacked";  // the panes are the stacked layout's
      body.layout = "stacked";
    }
    Object.assign(body, changes());
    try {
      await api("PATCH", `/api/clips/${clip.id}`, body);
      byId("render-status").textContent = "Rendering…";
      flash("Regions saved for this clip; rendering.", true);
    } catch (err) { flash(err.message); }
  }

  async function saveAsDefault() {
    if (!clip.streamer_id) { flash("This stream has no streamer to save a default for."); return; }
    const [sw, sh] = source();
    const fractions = ([x, y, w, h]) => [x / sw, y / sh, w / sw, h / sh].map((v) => v.toFixed(4)).join(",");
    try {
      const streamer = await api("GET", `/api/streamers/${clip.streamer_id}`);
      const settings = { ...streamer.settings, facecam: fractions(boxes.facecam), gameplay: fractions(boxes.gameplay) };
      await api("PATCH", `/api/streamers/${clip.streamer_id}`, { settings });
      flash(`Saved as ${streamer.name}'s default facecam and gameplay for new streams.`, true);
    } catch (err) { flash(err.message); }
  }

  // ---- the page's hooks ------------------------------------------------------------------
  let wired = false;
  async function show(loaded) {
    clip = loaded;
    if (!formats) formats = await api("GET", "/api/formats");
    byId("aspect").value = clip.aspect || "";
    byId("aspect").querySelector("option[value='']").textContent =
      `The stream's default (${clip.stream_aspect})`;
    autoLabel();
    boxes = initialBoxes();
    placeBoxes();
    const at = clip.start + (clip.end - clip.start) / 3;
    if (frameAt !== at) {
      frameAt = at;
      byId("region-frame").src = `/api/clips/${clip.id}/frame?t=${at.toFixed(2)}`;
      byId("region-frame").alt = `A frame of the stream at ${clock(at)}, with the facecam and gameplay boxes over it`;
    }
    if (!wired) {
      wired = true;
      pickerEvents();
      byId("preview-toggle").addEventListener("click", () => showPreview(!drawing));
      byId("preview-play").addEventListener("click", () => byId("play-trim").click());
      for (const id of ["layout", "caption-style", "aspect"]) {
        byId(id).addEventListener("change", () => { if (drawing) draw(); else showPreview(true); });
      }
      byId("preview").addEventListener("seeked", () => { if (drawing) draw(); });
      byId("preview").addEventListener("loadeddata", () => { if (drawing) draw(); });
    }
    if (drawing) draw();
  }

  // What a save of the edit form adds: the aspect ratio, the picker's regions if moved.
  function changes() {
    const out = {};
    const chosen = byId("aspect").value;
    if (chosen && chosen !== (clip.aspect || "")) out.aspect = chosen;
    if (boxes?.edited) out.regions = { facecam: boxes.facecam, gameplay: boxes.gameplay };
    return out;
  }

  return { show, changes, draw };
})();
