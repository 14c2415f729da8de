// Clip page: the audio's waveform over the range the trim handles reach, with time labels
// and the kept part shaded; redrawn as the handles move. app.js's clipPage calls loaded.
"use strict";

window.clipWaveform = (() => {
  let wave = null, bound = false;

  async function loaded(clip) {
    const start = $("#trim-start"), end = $("#trim-end");
    const lo = +start.min, hi = +start.max;
    if (!(hi > lo)) return;
    const points = 300;
    wave = await api("GET", `/api/streams/${clip.stream_id}/waveform?start=${lo.toFixed(2)}&end=${hi.toFixed(2)}&points=${points}`);
    if (!bound) {
      for (const r of [start, end]) r.addEventListener("input", draw);
      window.addEventListener("resize", draw);
      bound = true;
    }
    draw();
  }

  function draw() {
    const canvas = $("#waveform");
    if (!wave || !canvas) return;
    const width = canvas.clientWidth, height = canvas.clientHeight, ratio = window.devicePixelRatio || 1;
    canvas.width = width * ratio; canvas.height = height * ratio;
    const g = canvas.getContext("2d");
    g.scale(ratio, ratio);
    const span = wave.end - wave.start, x = (t) => width * (t - wave.start) / span;
    const a = +$("#trim-start").value, b = +$("#trim-end").value;
    g.fillStyle = "rgba(140, 184, 255, .18)";  // the part the clip keeps
    g.fillRect(x(a), 0, x(b) - x(a), height);
    const top = Math.max(...wave.peaks, 1e-3), mid = (height - 14) / 2, step = width / wave.peaks.length;
    wave.peaks.forEach((p, i) => {
      const t = wave.start + span * (i + 0.5) / wave.peaks.length;
      g.fillStyle = t >= a && t <= b ? "#ff5a36" : "#6b7280";
      const h = Math.max(1, mid * p / top);
      g.fillRect(i * step, mid - h, Math.max(1, step - 0.5), 2 * h);
    });
    labels(g, x, width, height);
    canvas.setAttribute("aria-label", `Waveform from ${clock(wave.start)} to ${clock(wave.end)}; the clip keeps ${clock(a)} to ${clock(b)}`);
  }

  function labels(g, x, width, height) {
    const span = wave.end - wave.start;
    const step = [5, 10, 15, 30, 60].find((s) => width / (span / s) >= 70) || 120;
    g.fillStyle = "#b4bccb"; g.font = "11px system-ui, sans-serif"; g.textBaseline = "bottom";
    for (let t = Math.ceil(wave.start / step) * step; t <= wave.end; t += step) {
      g.fillRect(x(t), height - 16, 1, 4);
      const text = clock(t), w = g.measureText(text).width;
      g.fillText(text, Math.min(Math.max(0, x(t) - w / 2), width - w), height);
    }
  }

  return { loaded };
})();
