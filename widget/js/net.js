// JSON over fetch (no credentials, no referrer) and the visitor WebSocket with reconnects.

const RECONNECT_MS = [500, 1000, 2000, 4000, 8000];

// Resolves to {status, data}; status 0 = unreachable, data null = not JSON. Never rejects.
export async function requestJson(url, body) {
  const init = { credentials: "omit", cache: "no-store", referrerPolicy: "no-referrer" };
  if (body !== undefined) {
    init.method = "POST";
    init.headers = { "Content-Type": "application/json" };
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch {
    return { status: 0, data: null };
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    // not JSON: the status says enough
  }
  return { status: response.status, data };
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// One socket at a time; events.frame(frame), events.closed(event, opened) (not after stop()).
export class Connection {
  constructor(url, events) {
    this.url = url;
    this.events = events;
    this.ws = null;
    this.attempts = 0;
    this.timer = 0;
  }

  // hello() is called at open, so a resume carries the current last_seq.
  open(hello) {
    clearTimeout(this.timer);
    this.hello = hello;
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch {
      queueMicrotask(() => this.events.closed({ code: 1006 }, false));
      return;
    }
    this.ws = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true;
      ws.send(JSON.stringify(this.hello()));
    };
    ws.onmessage = (event) => {
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      if (frame.type === "welcome") this.attempts = 0;
      this.events.frame(frame);
    };
    ws.onclose = (event) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.events.closed(event, opened);
    };
  }

  retry(hello) {
    const delay = RECONNECT_MS[Math.min(this.attempts, RECONNECT_MS.length - 1)];
    this.attempts += 1;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.open(hello), delay);
    return this.attempts;
  }

  get isOpen() {
    return Boolean(this.ws && this.ws.readyState === WebSocket.OPEN);
  }

  send(frame) {
    if (!this.isOpen) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  async flush(limitMs) {
    const until = performance.now() + limitMs;
    while (this.ws && this.ws.bufferedAmount > 0 && performance.now() < until) await sleep(5);
  }

  stop() {
    clearTimeout(this.timer);
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onclose = null;
      ws.onmessage = null;
      try {
        ws.close(1000);
      } catch {
        // already closed
      }
    }
  }
}

// End a chat whose socket is not open (reconnecting): resume on a new socket and end at once.
export function endWithToken(url, token, limitMs, quick = true) {
  return new Promise((resolve) => {
    let ws;
    try {
      ws = new WebSocket(url);
    } catch {
      resolve();
      return;
    }
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(done, limitMs);
    ws.onopen = async () => {
      ws.send(JSON.stringify({ type: "resume", token, last_seq: 0 }));
      ws.send(JSON.stringify({ type: "end", quick }));
      const until = performance.now() + limitMs;
      while (ws.bufferedAmount > 0 && performance.now() < until) await sleep(5);
      done();
    };
    ws.onerror = done;
  });
}
