// chatsby-contacts: serve, migrate, workspaces, keys, users, backup, export, import. Reads the same environment as the server
// and works while it runs (SQLite waits for the writer; PostgreSQL has its own locking).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { type Config, ConfigError, loadConfig } from '../config.js';
import { parseScopes } from '../domain/access.js';
import { DomainError } from '../domain/errors.js';
import { startServer } from '../http/server.js';
import { migrateDatabase, openServices, type Services } from '../services/container.js';
import { parse, UsageError } from './args.js';
import { exportCommand, importCommand } from './transfer.js';

const HELP: Record<string, string> = {
  main: `Usage: chatsby-contacts <command> [options]

Commands:
  serve                         run the HTTP server (migrates first)
  migrate                       bring the database schema up to date
  workspaces create --name N    create a workspace; prints its id last
  workspaces limit ID N|plan    set a workspace's contact limit (plan: the plan's own)
  keys create [options]         create an API key; prints the key last
  keys revoke ID                revoke an API key at once
  users create [options]        create a user with a role in a workspace
  backup FILE                   copy the database to FILE while it runs
  export --out FILE [options]   export contacts to a CSV file, with a progress bar
  import FILE [options]         import contacts from a CSV file, with a progress bar

Environment: HOST, PORT, DATA_DIR, DATABASE_URL, DEFAULT_PLAN, LOG_LEVEL (see README).
Run "chatsby-contacts <command> --help" for a command's options.`,
  serve: 'Usage: chatsby-contacts serve\n\nRuns the HTTP server on HOST:PORT; SIGTERM finishes requests in flight, then stops.',
  migrate: 'Usage: chatsby-contacts migrate\n\nApplies pending schema migrations and prints their names.',
  workspaces: `Usage: chatsby-contacts workspaces create --name NAME
       chatsby-contacts workspaces limit ID N|plan

create: creates a workspace and prints its id alone as the last line.
limit:  sets the workspace's contact limit (over it, the contacts seen longest ago are archived);
        "plan" goes back to the plan's own limit.`,
  export: `Usage: chatsby-contacts export --out FILE [--filter NAME=VALUE ...] [--fields a,b,...] [--workspace ID]

Writes the workspace's contacts as CSV (API.md, Exports). --filter takes the list parameters of
GET /v1/contacts (repeatable; tag may repeat), e.g. --filter source=widget --filter created_from=2026-01-01.
--fields chooses columns (default: id,name,email,phone,company,source,first_seen,last_seen,
conversation_count,tags,page_url,ip_country). Without --workspace, the default workspace.`,
  import: `Usage: chatsby-contacts import FILE [--map "COLUMN=field" ...] [--dry-run] [--historical] [--report FILE] [--workspace ID]

Imports contacts from a CSV file (comma or semicolon, BOM and CRLF welcome), matched by email, then
phone. Columns are matched to fields by their header ("E-mail", "Full name", "Phone number", ...);
--map sets one ("COLUMN=" skips it). --dry-run reports what would happen and writes nothing.
--historical keeps created_at, first_seen, last_seen and conversation_count. Rejected and skipped
rows, with the reason, are written to --report (default FILE.report.csv).`,
  keys: `Usage: chatsby-contacts keys create [--workspace ID] [--scopes read,write,admin] [--name NAME]
       chatsby-contacts keys revoke ID

create: prints the new API key alone as the last line (shown once; only its hash is stored).
        Without --workspace, the default workspace (created on first use). Scopes default to read,write.
revoke: the key stops working on its next request.`,
  users: `Usage: chatsby-contacts users create --email E --password P --role owner|admin|member|viewer [--workspace ID]

Creates the user (or adds an existing one) with the role; without --workspace, the default workspace.
Passwords need 10 characters or more and must not be one of the most common passwords.`,
  backup: 'Usage: chatsby-contacts backup FILE\n\nSQLite: an online backup to FILE. PostgreSQL: pg_dump into FILE.',
};

async function withServices<T>(config: Config, fn: (s: Services) => Promise<T>): Promise<T> {
  const services = await openServices(config);
  try {
    return await fn(services);
  } finally {
    await services.deps.store.close();
  }
}

async function serve(config: Config): Promise<number> {
  const server = await startServer(config);
  const url = server.url.replace('0.0.0.0', '127.0.0.1');
  process.stdout.write(`Chatsby Contacts is running at ${url}
  API reference: ${url}/docs
  Create an API key: npx chatsby-contacts keys create --scopes read,write,admin
  Then: curl -H "Authorization: Bearer <key>" ${url}/v1/contacts
`);
  if (server.setupUrl) process.stdout.write(`No owner yet. Create the first one here (valid one hour, once): ${server.setupUrl}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      server.close(1000).then(resolve, (err: unknown) => {
        process.stderr.write(`error while stopping: ${(err as Error).message}\n`);
        resolve();
      });
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  return 0;
}

async function backup(config: Config, file: string): Promise<number> {
  const target = path.resolve(file);
  if (config.database.kind === 'sqlite') {
    await withServices(config, async (s) => {
      await s.deps.store.sqlite!.backup(target);
    });
    process.stdout.write(`backup written to ${target}\n`);
    return 0;
  }
  const db = config.database;
  const args = [db.url, '--file', target, ...(db.schema ? ['--schema', db.schema] : [])];
  const code = await new Promise<number>((resolve) => {
    const child = spawn('pg_dump', args, { stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', () => resolve(127));
    child.on('exit', (c) => resolve(c ?? 1));
  });
  if (code === 127) throw new UsageError('pg_dump is not installed (apt-get install postgresql-client)');
  if (code === 0) process.stdout.write(`backup written to ${target}\n`);
  return code === 0 ? 0 : 1;
}

async function run(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(HELP.main + '\n');
    return command ? 0 : 2;
  }
  const sub = rest[0] && !rest[0].startsWith('-') ? rest[0] : null;
  const wantsHelp = rest.includes('--help') || rest.includes('-h');
  if (wantsHelp && HELP[command]) {
    process.stdout.write(HELP[command] + '\n');
    return 0;
  }
  switch (command) {
    case 'serve':
      parse(rest, {});
      return serve(loadConfig());
    case 'migrate': {
      parse(rest, {});
      const applied = await migrateDatabase(loadConfig());
      process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'schema is up to date\n');
      return 0;
    }
    case 'workspaces': {
      if (sub === 'limit') {
        const { positionals } = parse(rest.slice(1), {}, 2);
        const [id, value] = positionals;
        if (!id || !value || !(value === 'plan' || /^\d+$/.test(value))) throw new UsageError('workspaces limit needs ID and a number or "plan"');
        const ws = await withServices(loadConfig(), (s) => s.workspaces.setContactLimit(id, value === 'plan' ? null : Number(value)));
        process.stdout.write(`workspace ${ws.id}: limit ${ws.limits.contacts ?? 'none'}, ${ws.usage.contacts} active and ${ws.usage.archived_contacts} archived contacts\n`);
        return 0;
      }
      if (sub !== 'create') throw new UsageError(`unknown workspaces command "${sub ?? ''}" (expected: create, limit)`);
      const { values } = parse(rest.slice(1), { name: { type: 'string' } });
      if (!values.name) throw new UsageError('--name is required');
      const ws = await withServices(loadConfig(), (s) => s.workspaces.create(values.name!));
      process.stdout.write(`created workspace "${ws.name}"\n${ws.id}\n`);
      return 0;
    }
    case 'keys': {
      if (sub === 'create') {
        const { values } = parse(rest.slice(1), { workspace: { type: 'string' }, scopes: { type: 'string' }, name: { type: 'string' } });
        const scopes = parseScopes(values.scopes ?? 'read,write');
        if (!scopes) throw new UsageError('--scopes must be a comma list of read, write, admin');
        const created = await withServices(loadConfig(), async (s) => {
          const ws = values.workspace ? await s.workspaces.get(values.workspace) : await s.workspaces.ensureDefault();
          return { ws, ...(await s.keys.create(ws.id, scopes, values.name ?? null)) };
        });
        process.stdout.write(`created key ${created.key.id} (${scopes.join(',')}) for workspace ${created.ws.id}; it is shown only now:\n${created.secret}\n`);
        return 0;
      }
      if (sub === 'revoke') {
        const { positionals } = parse(rest.slice(1), {}, 1);
        if (!positionals[0]) throw new UsageError('keys revoke needs the key id (key_...)');
        await withServices(loadConfig(), (s) => s.keys.revoke(null, positionals[0]!));
        process.stdout.write(`revoked ${positionals[0]}\n`);
        return 0;
      }
      throw new UsageError(`unknown keys command "${sub ?? ''}" (expected: create, revoke)`);
    }
    case 'users': {
      if (sub !== 'create') throw new UsageError(`unknown users command "${sub ?? ''}" (expected: create)`);
      const { values } = parse(rest.slice(1), { email: { type: 'string' }, password: { type: 'string' }, role: { type: 'string' }, workspace: { type: 'string' } });
      if (!values.email || !values.password || !values.role) throw new UsageError('--email, --password and --role are required');
      const made = await withServices(loadConfig(), (s) => s.accounts.createUser(values.email!, values.password!, values.role!, values.workspace ?? null));
      process.stdout.write(`created ${values.role} ${made.user.email} in workspace ${made.workspace.id}\n${made.user.id}\n`);
      return 0;
    }
    case 'backup': {
      const { positionals } = parse(rest, {}, 1);
      if (!positionals[0]) throw new UsageError('backup needs a FILE');
      if (fs.existsSync(positionals[0])) throw new UsageError(`${positionals[0]} exists already; choose a new file`);
      return backup(loadConfig(), positionals[0]);
    }
    case 'export':
      return withServices(loadConfig(), (s) => exportCommand(s, rest));
    case 'import':
      return withServices(loadConfig(), (s) => importCommand(s, rest));
    default:
      throw new UsageError(`unknown command "${command}" (try --help)`);
  }
}

export async function main(argv: string[]): Promise<number> {
  try {
    return await run(argv);
  } catch (error) {
    if (error instanceof UsageError || error instanceof ConfigError) {
      process.stderr.write(`chatsby-contacts: ${error.message}\n`);
      return 2;
    }
    if (error instanceof DomainError) {
      process.stderr.write(`chatsby-contacts: ${error.message}\n`);
      return error.status === 404 || error.status === 422 ? 2 : 1;
    }
    process.stderr.write(`chatsby-contacts: ${(error as Error).message}\n`);
    return 1;
  }
}
