// The embeddable widget (/widget.js, built from widget/widget.ts) and the /demo page where a new user
// plays the visitor of the default workspace's default agent.
import fs from 'node:fs';
import type { FastifyPluginAsync } from 'fastify';
import type { ConversationService } from '../../services/conversations.js';
import type { WorkspaceService } from '../../services/workspaces.js';
import { builtPath } from '../built-files.js';

function demoPage(widgetKey: string): string {
  const key = widgetKey.replace(/[^A-Za-z0-9_-]/g, '');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Chatsby Contacts demo</title>
<link rel="icon" href="data:,">
<script src="/widget.js" data-key="${key}" async></script>
</head>
<body>
<main>
<h1>Play the visitor</h1>
<p>This page carries the chat widget of your default agent, as a customer's website would. Open the
chat at the bottom right, say something, accept the consent banner if your workspace shows one, and
leave your details.</p>
<p>Then find yourself as a contact through the API (a key from <code>npx chatsby-contacts keys create</code>):</p>
<pre>curl -H "Authorization: Bearer &lt;key&gt;" "http://${'HOST'}/v1/contacts?q=&lt;your email&gt;"</pre>
<p>To embed the widget on a site, paste this and add the site's origin to the agent's allowed origins
(<code>PATCH /v1/agents/{id}</code>):</p>
<pre>&lt;script src="https://YOUR-HOST/widget.js" data-key="${key}" async&gt;&lt;/script&gt;</pre>
</main>
</body>
</html>
`;
}

export function widgetRoutes(conversations: ConversationService, workspaces: WorkspaceService): FastifyPluginAsync {
  return async (app) => {
    const script = fs.readFileSync(builtPath('widget', 'widget.js'));
    app.get('/widget.js', { schema: { hide: true } }, async (_request, reply) =>
      reply.type('text/javascript; charset=utf-8').header('cache-control', 'public, max-age=300').header('cross-origin-resource-policy', 'cross-origin').send(script));

    app.get('/demo', { schema: { hide: true } }, async (request, reply) => {
      const ws = await workspaces.ensureDefault();
      const agent = await conversations.defaultAgentOf(ws.id);
      return reply.type('text/html; charset=utf-8').send(demoPage(agent.widget_key).replace('http://HOST', `${request.protocol}://${request.host}`));
    });
  };
}
