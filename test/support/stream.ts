// A reader of GET /v1/stream (server-sent events) over real HTTP with a streaming body: every message
// kept as it came, the events with their bodies parsed, and waits with a deadline.

export interface Message {
  id?: string;
  event?: string;
  data?: string;
  retry?: string;
  comments: string[];
}

export interface StreamEvent {
  seq: string;
  event: string;
  body: any;
  /** The data line as sent. */
  raw: string;
}

export function parseMessage(block: string): Message {
  const m: Message = { comments: [] };
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) {
      m.comments.push(line.slice(1).trim());
      continue;
    }
    const i = line.indexOf(':');
    const field = i < 0 ? line : line.slice(0, i);
    const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
    if (field === 'data') m.data = m.data === undefined ? value : m.data + '\n' + value;
    else if (field === 'id' || field === 'event' || field === 'retry') m[field] = value;
  }
  return m;
}

export interface Stream {
  res: Response;
  messages: Message[];
  /** Messages that carry an event, with the body parsed. */
  events(): StreamEvent[];
  /** The position the stream opened at (the id of its first message, before any event). */
  position(timeoutMs?: number): Promise<string>;
  waitFor(pred: (e: StreamEvent) => boolean, timeoutMs?: number): Promise<StreamEvent>;
  ended(): boolean;
  close(): void;
}

async function until<T>(get: () => T | undefined, what: () => string, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = get();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what()} not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function openStream(baseUrl: string, headers: Record<string, string>): Promise<Stream> {
  const controller = new AbortController();
  const res = await fetch(baseUrl + '/v1/stream', { headers, signal: controller.signal });
  const messages: Message[] = [];
  let ended = false;
  if (res.status === 200 && res.body) {
    void (async () => {
      const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value;
          for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
            messages.push(parseMessage(buf.slice(0, i)));
            buf = buf.slice(i + 2);
          }
        }
      } catch {
        // aborted by the test
      } finally {
        ended = true;
      }
    })();
  }
  const events = () => messages.filter((m) => m.event !== undefined && m.data !== undefined)
    .map((m) => ({ seq: m.id!, event: m.event!, body: JSON.parse(m.data!), raw: m.data! }));
  const seen = () => JSON.stringify(events().map((e) => [e.event, e.body?.data?.id]));
  return {
    res,
    messages,
    events,
    position: (timeoutMs = 5000) => until(() => messages.find((m) => m.id !== undefined && m.event === undefined)?.id, () => `the opening position (events: ${seen()})`, timeoutMs),
    waitFor: (pred, timeoutMs = 5000) => until(() => events().find(pred), () => `a matching event (events: ${seen()})`, timeoutMs),
    ended: () => ended,
    close: () => controller.abort(),
  };
}
