// Stream page: search the stream's transcript, jump the player to a hit, pick a span of
// words and make a clip of it by hand (planned and rendered like the picked ones; the
// page's event listener in app.js shows it when it arrives).
"use strict";

(() => {
  let streamId = null, first = null, last = null;

  function init() {
    streamId = document.body.dataset.streamId;
    $("#search-form").addEventListener("submit", (e) => { e.preventDefault(); search(); });
    $("#make-clip").addEventListener("click", makeClip);
  }

  async function search() {
    const q = $("#search-q").value.trim();
    if (!q) return;
    try {
      const found = await api("GET", `/api/streams/${streamId}/transcript?q=${encodeURIComponent(q)}`);
      first = last = null;
      showSelection();
      $("#hits").replaceChildren(...found.hits.map(hit));
      const n = found.hits.length;
      $("#search-status").textContent = n ? `${n} place${n === 1 ? "" : "s"} where “${q}” is said.` : `“${q}” is not said in this stream.`;
    } catch (err) { flash(err.message); }
  }

  function hit(h) {
    const li = document.createElement("li");
    const jump = document.createElement("button");
    jump.type = "button"; jump.className = "ghost small jump";
    jump.textContent = clock(h.start);
    jump.setAttribute("aria-label", `Play from ${clock(h.start)}`);
    jump.addEventListener("click", () => play(h.start));
    li.append(jump, " ");
    for (const w of h.words) {
      const word = document.createElement("button");
      word.type = "button"; word.className = "word";
      word.classList.toggle("match", w.start >= h.start && w.end <= h.end);
      word.textContent = w.word;
      word.dataset.start = w.start; word.dataset.end = w.end;
      word.setAttribute("aria-pressed", "false");
      word.setAttribute("aria-label", `${w.word}, at ${clock(w.start)}`);
      word.addEventListener("click", () => pick(w));
      li.append(word, " ");
    }
    return li;
  }

  function play(t) {
    const player = $("#stream-player");
    if (!player.src) player.src = `/api/streams/${streamId}/source`;
    player.hidden = false;
    player.currentTime = t;
    player.play().catch(() => {});  // muted autoplay rules: the controls are there
  }

  // The first word picked starts the span, the next one ends it; a third starts anew.
  function pick(w) {
    if (first === null || last !== null) { first = w; last = null; }
    else if (w.start < first.start) { last = first; first = w; }
    else last = w;
    showSelection();
    play(first.start);
  }

  function span() {
    return first && { start: first.start, end: (last || first).end };
  }

  function showSelection() {
    const chosen = span();
    for (const b of document.querySelectorAll("#hits .word")) {
      const on = !!chosen && +b.dataset.start >= chosen.start && +b.dataset.end <= chosen.end;
      b.setAttribute("aria-pressed", String(on));
    }
    $("#make-clip").disabled = !chosen || last === null;
    $("#selection").textContent = !chosen ? "Pick a word to start a clip there, then another to end it."
      : last === null ? `From ${clock(chosen.start)}: now pick the last word.`
      : `${clock(chosen.start)} – ${clock(chosen.end)} (${(chosen.end - chosen.start).toFixed(1)} s)`;
  }

  async function makeClip() {
    const chosen = span();
    if (!chosen) return;
    try {
      const clip = await api("POST", `/api/streams/${streamId}/clips`, chosen);
      flash(`Made clip #${clip.rank} “${clip.title}”; it is being rendered.`, true);
      first = last = null;
      showSelection();
    } catch (err) { flash(err.message); }
  }

  document.addEventListener("DOMContentLoaded", () => {
    if (document.body.dataset.page === "stream") init();
  });
})();
