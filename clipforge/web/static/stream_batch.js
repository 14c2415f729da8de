// Stream page, several clips at once: select them and approve or reject them together,
// each clip's score out of 100 and its reason, render progress per clip with an ETA, and
// a browser notification when the stream is done (asked for only on a click).
// app.js's streamPage calls init, card (per clip card), loaded and event.
"use strict";

window.streamBatch = (() => {
  let streamId = null, reload = null, clips = [], status = "";
  const selected = new Set();
  const renders = new Map();  // clip id -> {first: [time, fraction], fraction}
  let notifyWanted = false;

  function init(id, load) {
    streamId = id; reload = load;
    $("#select-all").addEventListener("change", (e) => {
      selected.clear();
      if (e.target.checked) for (const c of clips) selected.add(c.id);
      for (const box of document.querySelectorAll("#clips .pick")) box.checked = e.target.checked;
      showSelection();
    });
    $("#bulk-approve").addEventListener("click", () => review("approve"));
    $("#bulk-reject").addEventListener("click", () => review("reject"));
    $("#notify").addEventListener("click", askToNotify);
  }

  function card(li, clip) {
    li.dataset.clipId = clip.id;
    const box = $(".pick", li);
    box.checked = selected.has(clip.id);
    $(".pick-name", li).textContent = `Select clip ${clip.rank}: ${clip.title}`;
    box.addEventListener("change", () => {
      if (box.checked) selected.add(clip.id); else selected.delete(clip.id);
      showSelection();
    });
    $(".score100", li).textContent = `${clip.score_100}/100`;
    $(".score100", li).setAttribute("aria-label", `Score ${clip.score_100} out of 100`);
    $(".why-text", li).textContent = clip.why;
    showRender(li, clip.id);
  }

  function loaded(stream, list) {
    clips = list; status = stream.status;
    for (const id of [...selected]) if (!list.some((c) => c.id === id)) selected.delete(id);
    showSelection();
    $("#download-all").hidden = !list.some((c) => c.video_url && c.status !== "rejected");
    $("#notify").hidden = status !== "processing" || notifyWanted || !("Notification" in window);
  }

  function showSelection() {
    const n = selected.size;
    $("#selected-count").textContent = `${n} selected`;
    $("#bulk-approve").disabled = $("#bulk-reject").disabled = n === 0;
    const all = $("#select-all");
    all.checked = n > 0 && n === clips.length;
    all.indeterminate = n > 0 && n < clips.length;
  }

  async function review(decision) {
    const ids = clips.filter((c) => selected.has(c.id)).map((c) => c.id);
    if (!ids.length) return;
    try {
      const done = await api("POST", `/api/streams/${streamId}/clips/review`, { ids, decision });
      selected.clear();
      flash(`${decision === "approve" ? "Approved" : "Rejected"} ${done.length} clip${done.length === 1 ? "" : "s"}.`, true);
      await reload();
    } catch (err) { flash(err.message); }
  }

  // Render progress: `job.progress` of stage render with a clip id; the ETA is the time
  // this clip took so far for the share it did, applied to what is left.
  function event(e) {
    if (e.name === "job.progress" && e.payload.stage === "render" && e.payload.clip_id) {
      // The last tick can come after clip.rendered (they travel apart): done is done.
      if (e.payload.fraction >= 1) { renders.delete(e.payload.clip_id); return; }
      const entry = renders.get(e.payload.clip_id) || { first: [Date.now(), e.payload.fraction] };
      entry.fraction = e.payload.fraction;
      entry.seconds = e.payload.seconds;  // the server's own estimate of the time left
      renders.set(e.payload.clip_id, entry);
      const li = document.querySelector(`#clips li[data-clip-id="${e.payload.clip_id}"]`);
      if (li) showRender(li, e.payload.clip_id);
    } else if (e.name === "clip.rendered" && e.payload.clip_id) {
      renders.delete(e.payload.clip_id);
    } else if (e.name === "stream.completed") {
      renders.clear();
      if (notifyWanted) notifyDone(e.payload.clips);
    } else if (e.name === "clip.edited" || e.name === "stream.submitted") {
      $("#notify").hidden = notifyWanted || !("Notification" in window);
    }
  }

  function showRender(li, clipId) {
    const entry = renders.get(clipId), box = $(".render-progress", li);
    box.hidden = !entry;
    if (!entry) return;
    $("progress", box).value = entry.fraction;
    $("progress", box).setAttribute("aria-label", `Rendering: ${Math.round(100 * entry.fraction)}%`);
    $(".eta", box).textContent = `Rendering ${Math.round(100 * entry.fraction)}% · ${eta(entry)}`;
  }

  function eta(entry) {
    const [t0, f0] = entry.first, done = entry.fraction - f0;
    let left = entry.seconds;
    if (left == null && done > 0.02) left = (Date.now() - t0) / 1000 / done * (1 - entry.fraction);
    if (left == null) return "estimating time left";
    return left < 1 ? "almost done" : `about ${Math.ceil(left)} s left`;
  }

  async function askToNotify() {
    const answer = await Notification.requestPermission();
    notifyWanted = answer === "granted";
    $("#notify").hidden = notifyWanted;
    flash(notifyWanted ? "You will get a notification when this stream is done."
      : "Notifications are blocked for this site; allow them in the browser to use this.",
      notifyWanted ? true : "notice");
  }

  function notifyDone(count) {
    notifyWanted = false;
    const name = document.querySelector("h1")?.textContent || "Your stream";
    new Notification("ClipForge: stream done", {
      body: `${name}: ${count ?? clips.length} clips ready to review`, tag: `stream-${streamId}` });
  }

  return { init, card, loaded, event };
})();
