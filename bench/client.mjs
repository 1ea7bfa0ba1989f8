// A keep-alive HTTP client for the API (node:http with a pooled Agent: the least client overhead in
// the timings). A response is timed until its last byte; parsing happens after.
import http from 'node:http';

export function apiClient(baseUrl, key) {
  const url = new URL(baseUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 128 });
  const auth = `Bearer ${key}`;

  const stats = { resetRetries: 0 };

  // A keep-alive socket the server closed just as we reused it fails with ECONNRESET; Node's docs
  // advise sending the request again on a fresh socket. Counted, and reported.
  async function request(method, path, body) {
    const payload = body === undefined ? null : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    try {
      return await send(method, path, payload);
    } catch (error) {
      if (!error.reusedSocket || error.code !== 'ECONNRESET') throw error;
      stats.resetRetries++;
      return send(method, path, payload);
    }
  }

  function send(method, path, payload) {
    return new Promise((resolve, reject) => {
      const headers = { authorization: auth };
      if (payload) {
        headers['content-type'] = 'application/json';
        headers['content-length'] = payload.length;
      }
      const req = http.request({ host: url.hostname, port: url.port, method, path, agent, headers }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('error', (error) => {
        error.reusedSocket = req.reusedSocket;
        reject(error);
      });
      req.end(payload ?? undefined);
    });
  }

  return {
    stats,
    get: (path) => request('GET', path),
    post: (path, body) => request('POST', path, body),
    close: () => agent.destroy(),
  };
}

export function listPath(params, base = '/v1/contacts') {
  const qs = new URLSearchParams(Object.entries(params ?? {}).filter(([, v]) => v !== undefined && v !== null)).toString();
  return qs ? `${base}?${qs}` : base;
}

export function json(res, what) {
  try {
    return JSON.parse(res.text);
  } catch {
    throw new Error(`${what}: HTTP ${res.status}, not JSON: ${res.text.slice(0, 300)}`);
  }
}
