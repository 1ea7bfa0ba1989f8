// A real SMTP server (smtp-server) in a process of its own on loopback (smtp-process.mjs): plain (no
// STARTTLS offered), no authentication needed; every message kept with its envelope and decoded text.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./smtp-process.mjs', import.meta.url));

export interface ReceivedMail {
  /** The envelope: MAIL FROM and RCPT TO, as the SMTP client sent them. */
  mailFrom: string | null;
  rcptTo: string[];
  /** Header names in lower case, unfolded. */
  headers: Record<string, string>;
  /** The body of a single-part text message, transfer encoding undone, as UTF-8. */
  text: string;
  raw: string;
}

export interface SmtpServer {
  url: string;
  port: number;
  mails: ReceivedMail[];
  /** The first mail (already received or arriving within the time) for which `pred` holds. */
  waitFor(pred: (m: ReceivedMail) => boolean, timeoutMs?: number): Promise<ReceivedMail>;
  close(): Promise<void>;
}

function decodeQuotedPrintable(body: string): Buffer {
  const soft = body.replace(/=\r?\n/g, '');
  const bytes: number[] = [];
  for (let i = 0; i < soft.length; i++) {
    const c = soft[i]!;
    if (c === '=' && /^[0-9A-Fa-f]{2}$/.test(soft.slice(i + 1, i + 3))) {
      bytes.push(parseInt(soft.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(c, 'utf8'));
    }
  }
  return Buffer.from(bytes);
}

export function parseMail(raw: string, mailFrom: string | null, rcptTo: string[]): ReceivedMail {
  const split = raw.indexOf('\r\n\r\n');
  const head = split < 0 ? raw : raw.slice(0, split);
  const body = split < 0 ? '' : raw.slice(split + 4);
  const headers: Record<string, string> = {};
  for (const line of head.replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  const encoding = (headers['content-transfer-encoding'] ?? '7bit').toLowerCase();
  let text: string;
  if (encoding === 'quoted-printable') text = decodeQuotedPrintable(body).toString('utf8');
  else if (encoding === 'base64') text = Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  else text = body;
  return { mailFrom, rcptTo, headers, text, raw };
}

/** Starts test/support/smtp-process.mjs as a child process and collects what it receives. */
export async function startSmtpServer(): Promise<SmtpServer> {
  const mails: ReceivedMail[] = [];
  const child = spawn(process.execPath, [SCRIPT], { stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let buf = '';
    let listening = false;
    child.once('error', reject);
    child.once('exit', (code) => { if (!listening) reject(new Error(`the SMTP server process exited with ${code}`)); });
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = JSON.parse(buf.slice(0, i)) as { port?: number; mailFrom?: string | null; rcptTo?: string[]; raw?: string };
        buf = buf.slice(i + 1);
        if (line.port !== undefined) {
          listening = true;
          resolve(line.port);
        } else {
          mails.push(parseMail(line.raw!, line.mailFrom ?? null, line.rcptTo!));
        }
      }
    });
  });
  return {
    url: `smtp://127.0.0.1:${port}`,
    port,
    mails,
    async waitFor(pred, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const hit = mails.find(pred);
        if (hit) return hit;
        if (Date.now() > deadline) throw new Error(`no matching mail within ${timeoutMs} ms; got ${JSON.stringify(mails.map((m) => ({ to: m.rcptTo, subject: m.headers.subject })))}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    close: () => new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    }),
  };
}
