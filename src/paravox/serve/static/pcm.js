// Microphone samples (float32) to the frames /v1/stream takes: 16-bit little-endian PCM.
// Loaded twice: as an AudioWorklet module, where it registers the "pcm-frames" processor
// (the audio thread cuts the frames), and as a page script, where the ScriptProcessor
// fallback of app.js uses the same PcmFramer.
"use strict";

class PcmFramer {
  constructor(samplesPerFrame) {
    this.size = Math.max(1, samplesPerFrame | 0);
    this.frame = new DataView(new ArrayBuffer(2 * this.size));
    this.n = 0;
  }

  // Takes any number of samples; returns the frames they complete (ArrayBuffers).
  push(samples) {
    const done = [];
    for (let i = 0; i < samples.length; i++) {
      const s = Math.max(-1, Math.min(1, samples[i] || 0));
      this.frame.setInt16(2 * this.n, Math.round(s * 32767), true);
      if (++this.n === this.size) {
        done.push(this.frame.buffer);
        this.frame = new DataView(new ArrayBuffer(2 * this.size));
        this.n = 0;
      }
    }
    return done;
  }

  // The samples of the frame not yet complete (possibly none).
  flush() {
    const rest = this.frame.buffer.slice(0, 2 * this.n);
    this.n = 0;
    return rest;
  }
}

if (typeof registerProcessor === "function") {
  // The node's input is mixed down to one channel (channelCount 1, "explicit").
  // Messages to the page: {frame} for each full frame, then {frame, last: true} after "flush".
  registerProcessor("pcm-frames", class extends AudioWorkletProcessor {
    constructor(options) {
      super();
      this.framer = new PcmFramer(options.processorOptions.samplesPerFrame);
      this.port.onmessage = (e) => {
        if (e.data === "flush") {
          const frame = this.framer.flush();
          this.port.postMessage({ frame, last: true }, [frame]);
        }
      };
    }

    process(inputs) {
      const channel = inputs[0] && inputs[0][0];
      if (channel) this.framer.push(channel).forEach((frame) => this.port.postMessage({ frame }, [frame]));
      return true;
    }
  });
}
