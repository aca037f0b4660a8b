// paravox web page: send a recording to POST /v1/analyze, or stream the microphone to
// GET /v1/stream (a WebSocket), and show the Analysis.
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

  // ---- recording live: the microphone streamed to GET /v1/stream --------------------------
  // While the person speaks, 16-bit PCM frames of ~100 ms go to the server, and what comes
  // back is shown as it comes: the provisional text (replaced in place), final segments with
  // their tags and emotion, vocal events. Stop sends {"type": "end"}; the server's "done"
  // carries the whole Analysis, drawn as an upload's is.
  const AudioCtx = window.AudioContext || window.webkitAudioContext;
  const FRAME_SECONDS = 0.1;
  const KEEP_SECONDS = 1800; // how much of the recording the page keeps for the player
  const liveEl = $("live");
  const liveText = $("live-transcript");
  const liveEvents = $("live-events");
  const liveClock = $("live-clock");
  let live = null; // the recording in progress: {stop()}

  if (window.WebSocket && AudioCtx) {
    recordBtn.hidden = false;
    recordBtn.addEventListener("click", () => { if (live) live.stop(); else record(); });
  }

  async function record() {
    // Browsers offer the microphone only to secure pages: https, or http from localhost.
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      setStatus("This browser offers the microphone only to pages opened over https or from localhost; open the page that way to record.", true);
      return;
    }
    recordBtn.disabled = true;
    setStatus("Asking for the microphone…");
    let mic;
    try {
      // The raw sound: echo cancellation, noise suppression and gain control would also take
      // out or reshape laughs, sighs and the loudness the emotion model listens to.
      mic = await navigator.mediaDevices.getUserMedia({
        audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false },
      });
    } catch (err) {
      recordBtn.disabled = false;
      setStatus(microphoneError(err), true);
      return;
    }
    try {
      live = await startStream(mic);
    } catch (err) {
      mic.getTracks().forEach((t) => t.stop());
      recordBtn.disabled = false;
      setStatus("Could not record: " + err.message, true);
    }
  }

  function microphoneError(err) {
    if (err.name === "NotAllowedError" || err.name === "SecurityError") {
      return "The microphone was not allowed. Let this page use it (the icon in the address bar) and press Record again.";
    }
    if (err.name === "NotFoundError") return "No microphone was found. Connect one and press Record again.";
    if (err.name === "NotReadableError") return "The microphone could not be opened: another program may be using it.";
    return "The microphone is not available: " + err.message;
  }

  // One recording: the microphone's frames to the server, the server's messages to the page.
  async function startStream(mic) {
    const frames = [];  // what was sent, kept for the player (up to KEEP_SECONDS)
    let sent = 0, kept = 0, ws = null, stopping = false, finished = false, error = null;
    const capture = await openCapture(mic, (frame) => {
      if (!frame.byteLength || !ws || ws.readyState !== WebSocket.OPEN) return;
      ws.send(frame);
      sent += frame.byteLength / 2;
      if (kept < KEEP_SECONDS * capture.rate) { frames.push(frame); kept += frame.byteLength / 2; }
      liveClock.textContent = fmtTime(sent / capture.rate);
    });

    clearLive();
    const params = new URLSearchParams({ sample_rate: String(capture.rate), name: "microphone" });
    if ($("language").value) params.set("language", $("language").value);
    const url = new URL("v1/stream?" + params, location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    ws = new WebSocket(url);
    ws.binaryType = "arraybuffer";
    ws.onopen = () => {
      capture.start();
      recordBtn.disabled = false;
      recordBtn.textContent = "Stop";
      recordBtn.classList.add("recording");
      setStatus("Listening… press Stop when done.");
    };
    ws.onmessage = async (e) => {
      let m;
      try { m = JSON.parse(e.data); } catch (err) { return; }
      if (m.type === "partial") showPartial(m);
      else if (m.type === "segment") showSegment(m);
      else if (m.type === "event") showEvent(m);
      else if (m.type === "error") {
        error = m.message;
        capture.abort();
        setStatus("Live analysis stopped: " + m.message, true);
      } else if (m.type === "done") {
        finished = true;
        capture.abort(); // the server may end a stream by itself (its length limit)
        liveEl.hidden = true;
        if (m.truncated) setStatus("The server stopped the recording: " + m.message + ".", true);
        else setStatus(`Done: ${fmtTime(m.analysis.duration)} recorded and analysed live.`);
        await present(m.analysis, wavBlob(frames, capture.rate));
      }
    };
    ws.onclose = (e) => {
      capture.abort();
      live = null;
      recordBtn.disabled = false;
      recordBtn.textContent = "Record";
      recordBtn.classList.remove("recording");
      if (!finished && !error) setStatus(closedMessage(e.code, e.reason), true);
      if (!finished && !liveText.childElementCount) liveEl.hidden = true; // nothing came: nothing to show
    };
    return {
      async stop() {
        if (stopping) return;
        stopping = true;
        recordBtn.disabled = true;
        recordBtn.textContent = "Finishing…";
        setStatus("Finishing: the server is analysing the last words…");
        await capture.stop(); // the last, shorter frame goes out first
        if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "end" }));
      },
    };
  }

  // Why a stream closed without its result, in words (RFC 6455 close codes).
  function closedMessage(code, reason) {
    const why = reason ? ": " + reason : ".";
    if (code === 1013) return "The server is busy with other live recordings; try again shortly.";
    if (code === 1008) return "The server refused the live recording" + why;
    if (code === 1003) return "The server could not read the audio" + why;
    if (code === 1011) return "The server failed during the live analysis" + why;
    if (code === 1006) return "The connection to the server was lost (or could not be made).";
    return `The live recording was closed (code ${code})` + why;
  }

  // The microphone as PCM frames: onFrame(ArrayBuffer) every ~100 ms once started.
  async function openCapture(mic, onFrame) {
    let ctx, source;
    try {
      // At 16 kHz the browser resamples and the server has less to do; a browser that takes
      // the microphone only at the device's rate gets that rate, and the server resamples.
      ctx = new AudioCtx({ sampleRate: 16000 });
      source = ctx.createMediaStreamSource(mic);
    } catch (err) {
      if (ctx) ctx.close();
      ctx = new AudioCtx();
      source = ctx.createMediaStreamSource(mic);
    }
    const samplesPerFrame = Math.round(ctx.sampleRate * FRAME_SECONDS);
    let node, flush;
    try {
      await ctx.audioWorklet.addModule("static/pcm.js");
      node = new AudioWorkletNode(ctx, "pcm-frames", {
        channelCount: 1, channelCountMode: "explicit", processorOptions: { samplesPerFrame },
      });
      let flushed = () => {};
      node.port.onmessage = (e) => { onFrame(e.data.frame); if (e.data.last) flushed(); };
      flush = () => new Promise((resolve) => {
        flushed = resolve;
        node.port.postMessage("flush");
        setTimeout(resolve, 1000); // the audio thread gone: do not wait for ever
      });
    } catch (err) {
      // No AudioWorklet: the older ScriptProcessor, which runs on the page's thread.
      const framer = new PcmFramer(samplesPerFrame);
      node = ctx.createScriptProcessor(4096, 1, 1);
      node.onaudioprocess = (e) => framer.push(e.inputBuffer.getChannelData(0)).forEach(onFrame);
      flush = async () => { node.onaudioprocess = null; onFrame(framer.flush()); };
    }
    node.connect(ctx.destination); // it outputs silence; the destination is what makes it run
    let open = true;
    const close = () => {
      if (!open) return;
      open = false;
      source.disconnect();
      mic.getTracks().forEach((t) => t.stop());
      ctx.close().catch(() => {});
    };
    return {
      rate: ctx.sampleRate,
      start() { source.connect(node); ctx.resume().catch(() => {}); },
      async stop() { source.disconnect(); await flush(); close(); },
      abort: close,
    };
  }

  // A WAV file of the frames sent: the recording in the player, and its waveform.
  function wavBlob(frames, rate) {
    const bytes = frames.reduce((n, f) => n + f.byteLength, 0);
    const h = new DataView(new ArrayBuffer(44));
    const ascii = (at, s) => [...s].forEach((c, i) => h.setUint8(at + i, c.charCodeAt(0)));
    ascii(0, "RIFF"); h.setUint32(4, 36 + bytes, true); ascii(8, "WAVE");
    ascii(12, "fmt "); h.setUint32(16, 16, true); h.setUint16(20, 1, true); h.setUint16(22, 1, true);
    h.setUint32(24, rate, true); h.setUint32(28, 2 * rate, true); h.setUint16(32, 2, true); h.setUint16(34, 16, true);
    ascii(36, "data"); h.setUint32(40, bytes, true);
    return new Blob([h.buffer, ...frames], { type: "audio/wav" });
  }

  // ---- the live view -----------------------------------------------------------------------
  let partialEl = null;

  function clearLive() {
    $("result").hidden = true;
    player.pause();
    liveEl.hidden = false;
    liveText.replaceChildren();
    liveEvents.replaceChildren("Vocal events: ");
    liveEvents.hidden = true;
    liveClock.textContent = "";
    partialEl = null;
  }

  // The text since the last final segment: provisional, replaced by the next partial.
  function showPartial(m) {
    if (!partialEl) {
      partialEl = document.createElement("p");
      partialEl.className = "segment partial";
    }
    partialEl.replaceChildren(timeLabel(m.start), ...taggedNodes(m.tagged_text || m.text));
    liveText.appendChild(partialEl);
  }

  // A final segment: its words with the tags inline, and the emotion heard in it.
  function showSegment(s) {
    if (partialEl) partialEl.remove(); // the segment is the final form of that text
    const p = document.createElement("p");
    p.className = "segment final";
    const text = s.tagged_text || s.text || (s.note ? "(speech, no words recognised)" : "");
    p.append(timeLabel(s.start), ...taggedNodes(text));
    if (s.emotion && s.emotion.label) {
      const e = document.createElement("span");
      e.className = "emotion-label";
      e.textContent = `${s.emotion.label} ${Math.round(s.emotion.score * 100)}%`;
      e.title = "the emotion heard in this segment";
      p.appendChild(e);
    }
    liveText.appendChild(p);
  }

  function showEvent(ev) {
    liveEvents.hidden = false;
    const t = document.createElement("span");
    t.className = "tag";
    t.textContent = `[${ev.tag}]`;
    t.title = `${Math.round((ev.score || 0) * 100)}%`;
    liveEvents.append(t, ` ${fmtTime(ev.start)}–${fmtTime(ev.end)} `);
  }

  function timeLabel(t) {
    const span = document.createElement("span");
    span.className = "time";
    span.textContent = fmtTime(t);
    return span;
  }

  // "He laughed [laugh] then" as text and tag nodes; nothing is parsed as HTML.
  function taggedNodes(text) {
    return String(text).split(/(\[[\p{L}\p{N}_-]+\])/u).filter((part) => part).map((part) => {
      if (!/^\[.*\]$/.test(part)) return document.createTextNode(part);
      const t = document.createElement("span");
      t.className = "tag";
      t.textContent = part;
      return t;
    });
  }

  function setStatus(text, isError) {
    statusEl.textContent = text;
    statusEl.classList.toggle("error", !!isError);
  }

  // ---- sending it ------------------------------------------------------------------------
  async function analyze(file) {
    if (!live) liveEl.hidden = true; // the last recording's live view gives way to this file
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
    await present(analysis, file, peaksPromise);
  }

  // An Analysis on the page, with its recording (a File or Blob) in the player and the waveform.
  async function present(analysis, audio, peaksPromise) {
    if (current && current.url) URL.revokeObjectURL(current.url);
    const url = URL.createObjectURL(audio);
    player.src = url;
    current = { analysis, url, peaks: null, duration: Math.max(analysis.duration || 0, 0.001) };
    show(analysis);
    current.peaks = await (peaksPromise || decodePeaks(audio));
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
    const emo = a.emotion && a.emotion.label ? ` · emotion <strong>${esc(a.emotion.label)}</strong> (${Math.round(a.emotion.score * 100)}%)` : "";
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
