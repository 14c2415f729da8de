// Clip page: the clip's versions (one per edit, approval or rejection) and Undo of the
// last one, by button or Ctrl+Z / Cmd+Z. app.js's clipPage calls init, loaded, refresh.
"use strict";

window.clipHistory = (() => {
  let clipId = null, reload = null, busy = false, revision = 0;
  const ACTIONS = { picked: "As picked", edit: "Edited", approve: "Approved", reject: "Rejected" };

  function init(id, load) {
    clipId = id; reload = load;
    $("#undo").addEventListener("click", undo);
    document.addEventListener("keydown", (e) => {
      if (!(e.ctrlKey || e.metaKey) || e.shiftKey || e.altKey || e.key.toLowerCase() !== "z") return;
      // In a text field, Ctrl+Z undoes typing, as everywhere else.
      if (["INPUT", "TEXTAREA"].includes(document.activeElement?.tagName)
          && document.activeElement.type !== "checkbox") return;
      e.preventDefault();
      undo();
    });
  }

  async function loaded(clip) { revision = clip.revision; await refresh(); }

  async function refresh() {
    const versions = await api("GET", `/api/clips/${clipId}/versions`);
    const list = $("#versions");
    list.replaceChildren(...versions.map(line));
    const last = versions.find((v) => !v.undone && v.number > 0);
    $("#undo").disabled = !last;
    $("#undo-what").textContent = last ? `Undo takes back: ${describe(last)}.` : "Nothing to undo.";
  }

  function describe(v) {
    const what = ACTIONS[v.action] || v.action;
    return v.action === "edit" ? `${what} ${v.changes.join(", ").replaceAll("_", " ")}` : what;
  }

  function line(v) {
    const li = document.createElement("li");
    li.classList.toggle("undone", v.undone);
    const when = new Date(v.created_at).toLocaleString();
    li.textContent = `v${v.number} · ${describe(v)}${v.by ? ` by ${v.by}` : ""} · ${when} · ` +
      `${clock(v.start)}–${clock(v.end)} · ${v.status}${v.undone ? " (undone)" : ""}`;
    return li;
  }

  async function undo() {
    if (busy || $("#undo").disabled) return;
    busy = true;
    try {
      const clip = await api("POST", `/api/clips/${clipId}/undo`);
      const rendering = clip.revision > revision;  // an edit taken back: rendered again
      setStatus($("#clip-status"), clip.status);
      flash(rendering ? "Undone: the clip is rendered again as it was."
        : `Undone: the clip is ${clip.status} again.`, true);
      if (rendering) {
        $("#render-status").textContent = "Rendering…";
        $("#save").disabled = true;
      }
      await reload();
    } catch (err) { flash(err.message); }
    finally { busy = false; }
  }

  return { init, loaded, refresh };
})();
