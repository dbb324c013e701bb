// A small JSON-RPC 2.0 client over the service's WebSocket, authenticated by the console's
// session cookie (the upgrade carries it; no token is ever held by the page).
// Reconnects with backoff and renews its subscriptions after a reconnect.

export class RpcError extends Error {
  constructor(error) {
    super(error.message + (error.data && error.data.details ? `: ${error.data.details}` : ""));
    this.code = error.code;
    this.data = error.data || {};
  }
}

export class Rpc {
  constructor(url) {
    this.url = url;
    this.nextId = 1;
    this.pending = new Map();
    this.subs = [];          // {topics, filters, handler, id}
    this.bySubId = new Map();
    this.onstate = () => {};
    this.closed = false;
    this.backoff = 500;
    this.ready = this.connect();
  }

  connect() {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.url);
      this.ws = ws;
      ws.onopen = () => {
        this.backoff = 500;
        this.onstate("open");
        resolve();
        for (const s of this.subs) this.resubscribe(s);
      };
      ws.onmessage = (m) => this.receive(m.data);
      ws.onclose = (ev) => {
        for (const [, p] of this.pending) p.reject(new RpcError({ code: -1, message: "connection closed" }));
        this.pending.clear();
        this.bySubId.clear();
        this.onstate("closed", ev);
        reject(new Error(`WebSocket closed (${ev.code})`));
        if (!this.closed) {
          setTimeout(() => { this.ready = this.connect().catch(() => {}); }, this.backoff);
          this.backoff = Math.min(this.backoff * 2, 10000);
        }
      };
    });
  }

  receive(text) {
    let msg;
    try { msg = JSON.parse(text); } catch { return; }
    for (const m of Array.isArray(msg) ? msg : [msg]) {
      if (m.id !== undefined && m.id !== null && this.pending.has(m.id)) {
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        if (m.error) p.reject(new RpcError(m.error)); else p.resolve(m.result);
      } else if (m.method && m.params && m.params.subscription !== undefined) {
        const s = this.bySubId.get(m.params.subscription);
        if (s) s.handler(m.method, m.params.result);
      }
    }
  }

  async call(method, params) {
    await this.ready;
    if (this.ws.readyState !== WebSocket.OPEN) await this.ready;
    const id = this.nextId++;
    const body = { jsonrpc: "2.0", id, method };
    if (params !== undefined) body.params = params;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.ws.send(JSON.stringify(body));
    });
  }

  async resubscribe(s) {
    try {
      const params = { topics: s.topics };
      if (s.filters) params.filters = s.filters;
      s.id = await this.call("subscribe_events", params);
      this.bySubId.set(s.id, s);
    } catch (e) { s.onerror && s.onerror(e); }
  }

  // Calls handler(method, event) for each notification until the returned function is called.
  async subscribe(topics, handler, filters, onerror) {
    const s = { topics, filters, handler, onerror };
    this.subs.push(s);
    await this.ready;
    await this.resubscribe(s);
    return () => {
      this.subs = this.subs.filter((x) => x !== s);
      if (s.id !== undefined) {
        this.bySubId.delete(s.id);
        this.call("unsubscribe_events", [s.id]).catch(() => {});
      }
    };
  }

  close() { this.closed = true; if (this.ws) this.ws.close(1000); }
}
