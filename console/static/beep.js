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

// One tone from t0: a quick attack and an exponential release avoid the click of a
// hard-switched tone.
function tone(t0, { frequency, type, peak, length }) {
  const osc = ctx.createOscillator();
  const gain = ctx.createGain();
  osc.type = type;
  osc.frequency.value = frequency;
  gain.gain.setValueAtTime(0.0001, t0);
  gain.gain.exponentialRampToValueAtTime(peak, t0 + length / 10);
  gain.gain.exponentialRampToValueAtTime(0.0001, t0 + length);
  osc.connect(gain).connect(ctx.destination);
  osc.start(t0);
  osc.stop(t0 + length + 0.02);
}

// count short tones; P1 alarms get three so they are told apart by ear from across the room.
// A5 (880 Hz) cuts through call-centre chatter without being shrill.
export function beep(count = 1) {
  if (!enabled()) return;
  const start = ctx.currentTime + 0.02;
  for (let i = 0; i < count; i++) tone(start + i * 0.3, { frequency: 880, type: "sine", peak: 0.35, length: 0.2 });
}

// The alarm path is broken (alerts/intake.py): two long low tones, unlike any alarm's, so an
// operator looking away knows to look at the red line rather than the queue.
export function fault() {
  if (!enabled()) return;
  const start = ctx.currentTime + 0.02;
  for (let i = 0; i < 2; i++) tone(start + i * 0.8, { frequency: 330, type: "triangle", peak: 0.4, length: 0.6 });
}
