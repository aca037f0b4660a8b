// paravox web page: send a recording to POST /v1/analyze and show the Analysis.
// No framework, no build step, nothing loaded from outside this server.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const fileInput = $("file");
  const drop = $("drop");
  const recordBtn = $("record");
  const statusEl = $("status");
  const player = $("player");
  const wave = $("wave");
  const markers = $("markers");
  const playhead = $("playhead");
  const transcriptEl = $("transcript");

  const COLORS = ["#2f6fdf", "#d9480f", "#2b8a3e", "#ae3ec9", "#f08c00", "#1098ad", "#c92a2a", "#5c940d", "#868e96"];

  let current = null; // {analysis, peaks, duration, url}
  let wordEls = [];   // [{el, start, end}]

  // ---- choosing a recording --------------------------------------------------------------
  fileInput.addEventListener("change", () => {
    if (fileInput.files && fileInput.files[0]) analyze(fileInput.files[0]);
  });
  ["dragenter", "dragover"].forEach((type) =>
    drop.addEventListener(type, (e) => { e.preventDefault(); drop.classList.add("over"); }));
  ["dragleave", "drop"].forEach((type) =>
    drop.addEventListener(type, (e) => { e.preventDefault(); drop.classList.remove("over"); }));
  drop.addEventListener("drop", (e) => {
    const file = e.dataTransfer && e.dataTransfer.files && e.dataTransfer.files[0];
    if (file) analyze(file);
  });

  // Microphone recording where the browser allows it (a secure context: https or localhost).
  if (window.MediaRecorder && navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
    recordBtn.hidden = false;
    let recorder = null;
    recordBtn.addEventListener("click", async () => {
      if (recorder && recorder.state === "recording") { recorder.stop(); return; }
      let stream;
      try {
        stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      } catch (err) {
        setStatus("The microphone is not available: " + err.message, true);
        return;
      }
      const chunks = [];
      recorder = new MediaRecorder(stream);
      recorder.ondataavailable = (e) => { if (e.data && e.data.size) chunks.push(e.data); };
      recorder.onstop = () => {
        stream.getTracks().forEach((t) => t.stop());
        recordBtn.textContent = "Record";
        recordBtn.classList.remove("recording");
        const type = recorder.mimeType || "audio/webm";
        const ext = type.includes("ogg") ? "ogg" : type.includes("mp4") ? "m4a" : "webm";
        analyze(new File([new Blob(chunks, { type })], "recording." + ext, { type }));
      };
      recorder.start();
      recordBtn.textContent = "Stop";
      recordBtn.classList.add("recording");
      setStatus("Recording… press Stop when done.");
    });
  }

  function setStatus(text, isError) {
    statusEl.textContent = text;
    statusEl.classList.toggle("error", !!isError);
  }

  // ---- sending it ------------------------------------------------------------------------
  async function analyze(file) {
    const started = performance.now();
    setStatus(`Analysing ${file.name}…`);
    const timer = setInterval(() => {
      setStatus(`Analysing ${file.name}… ${((performance.now() - started) / 1000).toFixed(0)} s`);
    }, 1000);
    const form = new FormData();
    form.append("file", file, file.name);
    const params = new URLSearchParams();
    if ($("language").value) params.set("language", $("language").value);
    const peaksPromise = decodePeaks(file);
    let analysis;
    try {
      const resp = await fetch("v1/analyze" + (params.toString() ? "?" + params : ""), { method: "POST", body: form });
      const body = await resp.json().catch(() => null);
      if (!resp.ok) {
        const msg = body && body.error ? body.error.message : `HTTP ${resp.status}`;
        throw new Error(msg);
      }
      analysis = body;
    } catch (err) {
      clearInterval(timer);
      setStatus("Could not analyse " + file.name + ": " + err.message, true);
      return;
    }
    clearInterval(timer);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    setStatus(`Done in ${seconds} s.`);
    if (current && current.url) URL.revokeObjectURL(current.url);
    const url = URL.createObjectURL(file);
    player.src = url;
    current = { analysis, url, peaks: null, duration: Math.max(analysis.duration || 0, 0.001) };
    show(analysis);
    current.peaks = await peaksPromise;
    drawWave();
  }

  // The waveform comes from the recording itself, decoded by the browser (WebAudio).
  async function decodePeaks(file) {
    try {
      const Offline = window.OfflineAudioContext || window.webkitOfflineAudioContext;
      if (!Offline) return null;
      const ctx = new Offline(1, 1, 44100);
      const buffer = await ctx.decodeAudioData(await file.arrayBuffer());
      const data = buffer.getChannelData(0);
      const n = 2000;
      const step = Math.max(1, Math.floor(data.length / n));
      const peaks = [];
      for (let i = 0; i < data.length; i += step) {
        let lo = 0, hi = 0;
        for (let j = i; j < Math.min(i + step, data.length); j++) {
          const v = data[j];
          if (v < lo) lo = v;
          if (v > hi) hi = v;
        }
        peaks.push([lo, hi]);
      }
      return { peaks, duration: buffer.duration };
    } catch (err) {
      return null; // a codec this browser cannot decode: the timeline is still drawn
    }
  }

  // ---- showing the result ----------------------------------------------------------------
  function show(a) {
    $("result").hidden = false;
    const events = a.events || [];
    const emo = a.emotion ? ` · emotion <strong>${esc(a.emotion.label)}</strong> (${Math.round(a.emotion.score * 100)}%)` : "";
    $("summary").innerHTML =
      `<strong>${esc(a.source)}</strong> · ${fmtTime(a.duration)} · language <strong>${esc(a.language || "?")}</strong>` +
      ` · ${events.length} vocal event${events.length === 1 ? "" : "s"}${emo}`;
    const blob = new Blob([JSON.stringify(a, null, 2)], { type: "application/json" });
    $("download").href = URL.createObjectURL(blob);
    drawMarkers(events);
    drawTranscript(a);
    drawEmotion(a);
    drawWave();
  }

  function drawMarkers(events) {
    markers.innerHTML = "";
    const d = current.duration;
    events.forEach((ev) => {
      const m = document.createElement("div");
      m.className = "event-marker";
      m.dataset.tag = ev.tag;
      m.dataset.start = ev.start;
      m.style.left = (100 * ev.start / d) + "%";
      m.style.width = (100 * Math.max(ev.end - ev.start, 0) / d) + "%";
      m.title = `[${ev.tag}] ${fmtTime(ev.start)}–${fmtTime(ev.end)} (${Math.round((ev.score || 0) * 100)}%)`;
      const label = document.createElement("span");
      label.textContent = ev.tag;
      m.appendChild(label);
      m.addEventListener("click", (e) => { e.stopPropagation(); playFrom(ev.start); });
      markers.appendChild(m);
    });
  }

  function drawWave() {
    if (!current) return;
    const ratio = window.devicePixelRatio || 1;
    const w = Math.max(1, Math.floor(wave.clientWidth * ratio));
    const h = Math.max(1, Math.floor(wave.clientHeight * ratio));
    wave.width = w;
    wave.height = h;
    const g = wave.getContext("2d");
    g.clearRect(0, 0, w, h);
    g.fillStyle = "#adb5bd";
    g.fillRect(0, h / 2, w, Math.max(1, ratio));
    const p = current.peaks;
    if (!p || !p.peaks.length) return;
    // x is time on the analysis' clock, so the markers line up with the drawing.
    const perPx = p.peaks.length / (w * Math.min(1, p.duration / current.duration));
    g.fillStyle = "#4c6ef5";
    const cols = Math.min(w, Math.ceil(p.peaks.length / perPx));
    for (let x = 0; x < cols; x++) {
      let lo = 0, hi = 0;
      for (let i = Math.floor(x * perPx); i < Math.min(p.peaks.length, Math.floor((x + 1) * perPx) + 1); i++) {
        if (p.peaks[i][0] < lo) lo = p.peaks[i][0];
        if (p.peaks[i][1] > hi) hi = p.peaks[i][1];
      }
      const y0 = (1 - hi) * h / 2, y1 = (1 - lo) * h / 2;
      g.fillRect(x, y0, 1, Math.max(1, y1 - y0));
    }
  }

  // Words and tags in reading order. An event goes to the word boundary nearest its start,
  // the same rule as Analysis.tagged_text() on the server.
  function drawTranscript(a) {
    transcriptEl.innerHTML = "";
    wordEls = [];
    const segs = a.segments || [];
    const words = [];
    segs.forEach((s, si) => {
      // A speech region that gave no words (s.note says so) shows as such, not as nothing.
      const text = s.text || (s.note ? "(speech, no words recognised)" : "");
      const ws = s.words && s.words.length ? s.words : [{ start: s.start, end: s.end, text }];
      ws.forEach((w) => words.push({ ...w, seg: si }));
    });
    const slots = words.map(() => []);
    slots.push([]);
    (a.events || []).slice().sort((x, y) => x.start - y.start).forEach((ev) => {
      let best = 0, bestD = Infinity;
      for (let k = 0; k <= words.length; k++) {
        let lo = k > 0 ? words[k - 1].end : -Infinity;
        let hi = k < words.length ? words[k].start : Infinity;
        if (lo > hi) lo = hi = (lo + hi) / 2;
        const d = Math.max(0, lo - ev.start, ev.start - hi);
        if (d < bestD) { best = k; bestD = d; }
      }
      slots[best].push(ev);
    });
    if (!words.length) {
      const p = document.createElement("p");
      if (slots[0].length) slots[0].forEach((ev) => p.appendChild(tagEl(ev)));
      else { p.className = "empty"; p.textContent = "No speech found."; }
      transcriptEl.appendChild(p);
      return;
    }
    let para = null, seg = -1;
    words.forEach((w, k) => {
      if (w.seg !== seg) {
        seg = w.seg;
        para = document.createElement("p");
        para.className = "segment";
        const t = document.createElement("span");
        t.className = "time";
        t.textContent = fmtTime(segs[seg].start);
        const start = segs[seg].start;
        t.addEventListener("click", () => playFrom(start));
        para.appendChild(t);
        transcriptEl.appendChild(para);
      }
      slots[k].forEach((ev) => { para.appendChild(tagEl(ev)); para.appendChild(document.createTextNode(" ")); });
      const span = document.createElement("span");
      span.className = "word";
      span.textContent = w.text.trim();
      span.title = fmtTime(w.start);
      span.addEventListener("click", () => playFrom(w.start));
      para.appendChild(span);
      const next = words[k + 1];
      if (next && (next.seg !== w.seg || slots[k + 1].length || spaced(w.text.trim(), next.text.trim()))) {
        para.appendChild(document.createTextNode(" "));
      }
      wordEls.push({ el: span, start: w.start, end: w.end });
    });
    slots[words.length].forEach((ev) => para.appendChild(tagEl(ev)));
  }

  // Whether a space goes between two words: the same rule as join_words() on the server
  // (none between CJK characters, before closing punctuation, or inside "ill-disposed").
  const TIGHT = /[\u3000-\u303f\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\uff00-\uffef。，、；：？！…—「」『』《》（）]/;
  function spaced(prev, next) {
    if (!prev || !next) return true;
    if (TIGHT.test(prev.slice(-1)) && TIGHT.test(next[0])) return false;
    if (",.!?;:%)]}'\"".includes(next[0])) return false;
    if (next[0] === "-" && /[\p{L}\p{N}]/u.test(next[1] || "") && /[\p{L}\p{N}]/u.test(prev.slice(-1))) return false;
    return true;
  }

  function tagEl(ev) {
    const t = document.createElement("span");
    t.className = "tag";
    t.textContent = `[${ev.tag}]`;
    t.title = `${fmtTime(ev.start)}–${fmtTime(ev.end)}`;
    t.addEventListener("click", () => playFrom(ev.start));
    return t;
  }

  // Emotion over time: the dominant label of each segment as a coloured band, and (models with
  // a dimensional head) valence and arousal as two lines on [-1, 1] below it.
  const DIM_COLORS = { valence: "#2b8a3e", arousal: "#d9480f" };
  function drawEmotion(a) {
    const canvas = $("emotion");
    const legend = $("emotion-legend");
    legend.innerHTML = "";
    let spans = (a.segments || []).filter((s) => s.emotion).map((s) => ({
      start: s.emotion.start ?? s.start, end: s.emotion.end ?? s.end, label: s.emotion.label,
      score: s.emotion.score, dims: s.emotion.dimensions || null,
    }));
    if (!spans.length && a.emotion) {
      spans = [{ start: a.emotion.start ?? 0, end: a.emotion.end ?? a.duration, label: a.emotion.label,
                 score: a.emotion.score, dims: a.emotion.dimensions || null }];
    }
    $("emotion-none").hidden = spans.length > 0;
    canvas.hidden = spans.length === 0;
    if (!spans.length) return;
    const order = Object.keys((a.emotion && a.emotion.scores) || {});
    const labels = [...new Set(spans.map((s) => s.label).filter((l) => l))];
    const colorOf = (l) => COLORS[(order.indexOf(l) >= 0 ? order.indexOf(l) : order.length + labels.indexOf(l)) % COLORS.length];
    const dims = ["valence", "arousal"].filter((k) => spans.some((s) => s.dims && typeof s.dims[k] === "number"));
    const ratio = window.devicePixelRatio || 1;
    const w = canvas.width = Math.floor(canvas.clientWidth * ratio);
    const h = canvas.height = Math.floor(canvas.clientHeight * ratio);
    const g = canvas.getContext("2d");
    const d = current.duration;
    const pad = 6 * ratio;
    const band = 22 * ratio;
    const top = band + 2 * pad;  // the lines' area starts below the band
    const X = (t) => (t / d) * w;
    const Y = (v) => top + (1 - (v + 1) / 2) * (h - top - pad - 12 * ratio);
    g.clearRect(0, 0, w, h);
    g.font = `${11 * ratio}px system-ui, sans-serif`;
    spans.forEach((s) => {
      if (!s.label) return;
      g.fillStyle = colorOf(s.label);
      g.globalAlpha = 0.35 + 0.65 * Math.min(1, Math.max(0, s.score ?? 1));
      g.fillRect(X(s.start), pad, Math.max(ratio, X(s.end) - X(s.start) - ratio), band);
      g.globalAlpha = 1;
      const text = s.label;
      if (g.measureText(text).width + 6 * ratio < X(s.end) - X(s.start)) {
        g.fillStyle = "#fff";
        g.fillText(text, X(s.start) + 3 * ratio, pad + band - 7 * ratio);
      }
    });
    if (dims.length) {
      g.strokeStyle = "#dee2e6";
      g.lineWidth = ratio;
      [-1, 0, 1].forEach((v) => { g.beginPath(); g.moveTo(0, Y(v)); g.lineTo(w, Y(v)); g.stroke(); });
      g.fillStyle = "#868e96";
      g.fillText("+1", 2 * ratio, Y(1) + 11 * ratio);
      g.fillText("0", 2 * ratio, Y(0) - 3 * ratio);
      g.fillText("-1", 2 * ratio, Y(-1) - 3 * ratio);
      dims.forEach((k) => {
        g.strokeStyle = DIM_COLORS[k];
        g.lineWidth = 2 * ratio;
        g.beginPath();
        let pen = false;
        spans.forEach((s) => {
          const v = s.dims ? s.dims[k] : undefined;
          if (typeof v !== "number") { pen = false; return; }
          const mid = (s.start + s.end) / 2;
          if (!pen) g.moveTo(X(mid), Y(v)); else g.lineTo(X(mid), Y(v));
          pen = true;
        });
        g.stroke();
      });
    }
    g.fillStyle = "#868e96";
    const step = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600].find((s) => d / s <= 10) || 1200;
    for (let t = step; t < d; t += step) g.fillText(fmtTime(t).replace(/\.0$/, ""), X(t) + 2 * ratio, h - 2 * ratio);
    labels.forEach((label) => {
      const item = document.createElement("span");
      item.dataset.label = label;
      item.innerHTML = `<i style="background:${colorOf(label)}"></i>${esc(label)}`;
      legend.appendChild(item);
    });
    dims.forEach((k) => {
      const item = document.createElement("span");
      item.dataset.line = k;
      item.innerHTML = `<i class="line" style="background:${DIM_COLORS[k]}"></i>${esc(k)}`;
      legend.appendChild(item);
    });
  }

  // ---- playback ----------------------------------------------------------------------------
  function playFrom(t) {
    if (!player.src) return;
    player.currentTime = Math.max(0, t);
    const p = player.play();
    if (p && p.catch) p.catch(() => {});
  }

  $("wave-wrap").addEventListener("click", (e) => {
    if (!current) return;
    const r = wave.getBoundingClientRect();
    playFrom(((e.clientX - r.left) / r.width) * current.duration);
  });

  function tick() {
    if (current) {
      const t = player.currentTime;
      playhead.style.left = (100 * Math.min(t / current.duration, 1)) + "%";
      wordEls.forEach((w) => w.el.classList.toggle("now", !player.paused && t >= w.start && t < w.end));
    }
    if (!player.paused) requestAnimationFrame(tick);
  }
  player.addEventListener("play", () => requestAnimationFrame(tick));
  player.addEventListener("seeked", tick);
  window.addEventListener("resize", () => { drawWave(); if (current) drawEmotion(current.analysis); });

  function fmtTime(s) {
    s = Math.max(0, s || 0);
    const m = Math.floor(s / 60);
    return `${m}:${(s - 60 * m).toFixed(1).padStart(4, "0")}`;
  }

  function esc(s) {
    return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  }
})();
