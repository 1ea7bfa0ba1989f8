// A real SMTP server (smtp-server) as a process of its own: listens on a loopback port, prints
// {"port": N} once listening, then one JSON line per message received ({mailFrom, rcptTo, raw}).
// Plain SMTP (no STARTTLS offered), no authentication needed. Ends on SIGTERM or when stdin closes.
import { SMTPServer } from 'smtp-server';

const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS'],
  logger: false,
  onData(stream, session, callback) {
    const chunks = [];
    stream.on('data', (c) => chunks.push(c));
    stream.on('end', () => {
      const mailFrom = session.envelope.mailFrom ? session.envelope.mailFrom.address : null;
      const rcptTo = session.envelope.rcptTo.map((a) => a.address);
      process.stdout.write(JSON.stringify({ mailFrom, rcptTo, raw: Buffer.concat(chunks).toString('utf8') }) + '\n');
      callback(null);
    });
  },
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: server.server.address().port }) + '\n');
});
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
