// The real Vercel AI SDK (v5) client reads POST /chat as useChat does: the UI message it
// assembles must hold exactly what the mock provider said and the sources search found.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DefaultChatTransport, readUIMessageStream } from 'ai';
import { randomUUID } from 'node:crypto';
import { apiUrl, call, mock, mockModel, repositoryWith, staff } from './studio.mjs';

const sentence = 'The heliostat array at Calder Ridge produced 41 megawatt hours on the solstice.';

test('useChat parses a grounded answer with its text and sources', async () => {
  const model = await mockModel();
  const { repository, item } = await repositoryWith('calder-ridge.md', `# Calder Ridge\n\n${sentence}\n`);
  const reply = 'Calder Ridge produced 41 MWh on the solstice [1].';
  await mock('PUT', '/_mock/script', { reply, usage: { input: 321, output: 17, cached: 64, reasoning: 0 } });

  let headers;
  const transport = new DefaultChatTransport({
    api: `${apiUrl}/chat`,
    headers: { authorization: `Bearer ${staff()}` },
    body: { modelId: model.modelId, repositoryIds: [repository.id] },
    fetch: async (url, init) => {
      const response = await fetch(url, init);
      headers = response.headers;
      return response;
    },
  });
  const question = { id: randomUUID(), role: 'user', parts: [{ type: 'text', text: 'What did Calder Ridge produce on the solstice?' }] };
  const stream = await transport.sendMessages({
    chatId: randomUUID(), messages: [question], trigger: 'submit-message', messageId: undefined, abortSignal: undefined,
  });
  let message;
  for await (const snapshot of readUIMessageStream({ stream })) message = snapshot;

  assert.equal(headers.get('x-vercel-ai-ui-message-stream'), 'v1');
  const conversationId = headers.get('x-conversation-id');
  assert.ok(conversationId, 'a new conversation is announced');
  const text = message.parts.filter((p) => p.type === 'text').map((p) => p.text).join('');
  assert.equal(text, reply);
  const sources = message.parts.filter((p) => p.type === 'source-document');
  assert.ok(sources.length >= 1, 'the passage is cited');
  assert.equal(sources[0].title, item.name);
  assert.equal(sources[0].providerMetadata.studio.itemId, item.id);
  assert.match(sources[0].providerMetadata.studio.excerpt, /heliostat array/);

  // The provider saw the passage; the conversation kept both sides with the usage read
  // from the provider's own fields.
  const requests = await mock('GET', '/_mock/requests');
  const sent = JSON.stringify(requests.at(-1).body);
  assert.match(sent, /Calder Ridge produced 41 megawatt hours/);
  const messages = await call(staff(), 'GET', `/conversations/${conversationId}/messages`);
  assert.deepEqual(messages.map((m) => m.role), ['user', 'assistant']);
  const answer = messages[1];
  assert.equal(answer.parts.find((p) => p.type === 'text').text, reply);
  assert.equal(answer.inputTokens, 321);
  assert.equal(answer.outputTokens, 17);
  assert.equal(answer.cachedTokens, 64);
  assert.equal(answer.finishReason, 'stop');
});

test('a provider that breaks mid-stream ends the message with an error and keeps what was said', async () => {
  const model = await mockModel();
  await mock('PUT', '/_mock/script', { reply: 'First words then the line goes dead', usage: { input: 10, output: 5, cached: 0, reasoning: 0 } });
  await mock('POST', '/_mock/faults', { fault: { kind: 'disconnect', afterDeltas: 2 }, times: 1, model: model.modelId });
  const transport = new DefaultChatTransport({
    api: `${apiUrl}/chat`,
    headers: { authorization: `Bearer ${staff()}` },
    body: { modelId: model.modelId },
  });
  const stream = await transport.sendMessages({
    chatId: randomUUID(),
    messages: [{ id: randomUUID(), role: 'user', parts: [{ type: 'text', text: 'Say something' }] }],
    trigger: 'submit-message', messageId: undefined, abortSignal: undefined,
  });
  const chunks = [];
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
  }
  const error = chunks.find((c) => c.type === 'error');
  assert.ok(error, 'an error chunk ends the answer');
  assert.equal(chunks.at(-1).type, 'finish');
  assert.equal(chunks.at(-1).finishReason, 'error');
  const said = chunks.filter((c) => c.type === 'text-delta').map((c) => c.delta).join('');
  assert.ok(said.length > 0, 'the words before the break arrived');
  const conversations = await call(staff(), 'GET', '/conversations');
  const latest = conversations[0];
  const messages = await call(staff(), 'GET', `/conversations/${latest.id}/messages`);
  const answer = messages.find((m) => m.role === 'assistant');
  assert.equal(answer.finishReason, 'error');
  assert.equal(answer.parts.find((p) => p.type === 'text').text, said);
});
