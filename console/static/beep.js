// The audible cue for a new alarm, synthesised with WebAudio so there is no sound file to load.
// Browsers only let a page make sound after a user gesture (autoplay policy), so the audio
// context is created on the first click or key press and the page shows when sound is off.

let ctx = null;
const listeners = new Set();

function notify() {
  for (const fn of listeners) fn(enabled());
}

export function enabled() {
  return ctx !== null && ctx.state === "running";
}

export function onSoundChange(fn) {
  listeners.add(fn);
}

// Call from inside a user-gesture handler.
export function arm() {
  const AudioCtx = window.AudioContext || window.webkitAudioContext;
  if (!AudioCtx) return;
  if (!ctx) {
    ctx = new AudioCtx();
    ctx.addEventListener("statechange", notify);
  }
  if (ctx.state === "suspended") ctx.resume().then(notify, notify);
  notify();
}

// count short tones; P1 alarms get three so they are told apart by ear from across the room.
export function beep(count = 1) {
  if (!enabled()) return;
  const start = ctx.currentTime + 0.02;
  for (let i = 0; i < count; i++) {
    const t0 = start + i * 0.3;
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.type = "sine";
    osc.frequency.value = 880; // A5: cuts through call-centre chatter without being shrill
    // A quick attack and exponential release avoid the click of a hard-switched tone.
    gain.gain.setValueAtTime(0.0001, t0);
    gain.gain.exponentialRampToValueAtTime(0.35, t0 + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, t0 + 0.2);
    osc.connect(gain).connect(ctx.destination);
    osc.start(t0);
    osc.stop(t0 + 0.22);
  }
}

// The alarm path is broken (alerts/intake.py): two long low tones, unlike any alarm's, so an
// operator looking away knows to look at the red line rather than the queue.
export function fault() {
  if (!enabled()) return;
  const start = ctx.currentTime + 0.02;
  for (let i = 0; i < 2; i++) {
    const t0 = start + i * 0.8;
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.type = "triangle";
    osc.frequency.value = 330;
    gain.gain.setValueAtTime(0.0001, t0);
    gain.gain.exponentialRampToValueAtTime(0.4, t0 + 0.04);
    gain.gain.exponentialRampToValueAtTime(0.0001, t0 + 0.6);
    osc.connect(gain).connect(ctx.destination);
    osc.start(t0);
    osc.stop(t0 + 0.62);
  }
}
