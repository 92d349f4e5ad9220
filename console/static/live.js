// The live alarm and incident feed over the WebSocket: connect, hand messages to the app,
// confirm receipt, and keep reconnecting until told to stop. The app treats every snapshot as the truth, so a
// reconnect needs no bookkeeping here beyond opening a new socket.

const BACKOFF_START_MS = 500;
const BACKOFF_MAX_MS = 10_000;
// The server pings every 15 s; 40 s of silence means two pings lost plus slack, i.e. the
// socket is dead even if the browser has not noticed (a NAT or proxy dropped it silently).
const SILENCE_LIMIT_MS = 40_000;
const WATCHDOG_EVERY_MS = 5_000;
const CLOSE_UNAUTHORIZED = 4401;

export class LiveFeed {
  // handlers: onSnapshot(alarms, incidents|null), onAlarm(alarm), onIncident(incident),
  // onState("live"|"reconnecting"), onUnauthorized(). incidents is null when the server's
  // snapshot has no "incidents" key (an older server): the app then fetches them over REST.
  constructor(url, handlers) {
    this.url = url;
    this.handlers = handlers;
    this.ws = null;
    this.attempt = 0;
    this.retryTimer = null;
    this.watchdog = null;
    this.lastMessageAt = 0;
    this.stopped = true;
    this.onOnline = () => this.reconnectNow();
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    this.attempt = 0;
    window.addEventListener("online", this.onOnline);
    this.watchdog = setInterval(() => this.checkSilence(), WATCHDOG_EVERY_MS);
    this.open();
  }

  stop() {
    this.stopped = true;
    window.removeEventListener("online", this.onOnline);
    clearInterval(this.watchdog);
    clearTimeout(this.retryTimer);
    this.drop();
  }

  open() {
    this.retryTimer = null;
    this.handlers.onState("reconnecting");
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch {
      this.scheduleRetry();
      return;
    }
    this.ws = ws;
    this.lastMessageAt = Date.now();
    ws.onmessage = (event) => this.receive(event.data);
    ws.onclose = (event) => {
      if (this.ws !== ws) return; // a socket we already gave up on
      this.ws = null;
      if (event.code === CLOSE_UNAUTHORIZED) {
        this.stop();
        this.handlers.onUnauthorized();
      } else {
        this.scheduleRetry();
      }
    };
    // An error is always followed by close, which does the retrying.
    ws.onerror = () => {};
  }

  receive(raw) {
    this.lastMessageAt = Date.now();
    let msg;
    try {
      msg = JSON.parse(raw);
    } catch {
      return; // not ours to interpret; the next snapshot will put things right
    }
    if (msg.type === "snapshot") {
      const alarms = Array.isArray(msg.alarms) ? msg.alarms : [];
      const incidents = Array.isArray(msg.incidents) ? msg.incidents : null;
      this.handlers.onSnapshot(alarms, incidents);
      // Only a snapshot proves the queue is in sync, so "live" and the backoff reset wait for it.
      this.attempt = 0;
      this.handlers.onState("live");
      this.confirm(alarms.map((a) => a.id));
    } else if (msg.type === "alarm" && msg.alarm) {
      this.handlers.onAlarm(msg.alarm);
      this.confirm([msg.alarm.id]);
    } else if (msg.type === "incident" && msg.incident) {
      // Receipts are per alarm (delivered_at); an incident's alarms were confirmed on arrival.
      this.handlers.onIncident?.(msg.incident);
    }
    // "ping" needs nothing beyond the lastMessageAt update above.
  }

  // Sent after the handler has put the alarms into the DOM, so "received" means on screen.
  confirm(ids) {
    if (ids.length === 0 || this.ws?.readyState !== WebSocket.OPEN) return;
    this.ws.send(JSON.stringify({ type: "received", ids }));
  }

  checkSilence() {
    if (this.ws && Date.now() - this.lastMessageAt > SILENCE_LIMIT_MS) {
      this.drop();
      this.scheduleRetry();
    }
  }

  drop() {
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onclose = ws.onmessage = ws.onerror = null;
      try {
        ws.close();
      } catch {
        // closing a half-open socket can throw in some browsers; it is discarded either way
      }
    }
  }

  scheduleRetry() {
    if (this.stopped || this.retryTimer) return;
    this.handlers.onState("reconnecting");
    const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_START_MS * 2 ** this.attempt);
    this.attempt += 1;
    // "Equal jitter": half fixed, half random, so a whole call centre reconnecting after a
    // server restart spreads out instead of arriving in lockstep.
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    this.retryTimer = setTimeout(() => this.open(), delay);
  }

  reconnectNow() {
    if (this.stopped || this.ws) return;
    clearTimeout(this.retryTimer);
    this.open();
  }
}
