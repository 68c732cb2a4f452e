// Test helpers: tokens for the seeded users (signed with the stack's dev key, as the
// front door verifies them), ActionState calls, and the mock provider's admin routes.
import { createHmac, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';

export const apiUrl = process.env.STUDIO_API_URL;
export const mockUrl = process.env.MOCK_PROVIDERS_URL;

const b64 = (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

export function token(sub, email) {
  const key = Buffer.from(readFileSync(process.env.STUDIO_DEV_KEY_FILE, 'utf8').trim(), 'hex');
  const claims = { sub, email, name: null, iss: 'studio-local', exp: Math.floor(Date.now() / 1000) + 3600, token_use: 'id' };
  const unsigned = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}`;
  return `${unsigned}.${createHmac('sha256', key).update(unsigned).digest('base64url')}`;
}

export const admin = () => token('local-admin', 'admin@example.com');
export const staff = () => token('local-staff', 'staff@example.com');

export async function call(bearer, method, path, body) {
  const response = await fetch(`${apiUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const state = await response.json();
  if (!state.isSuccess) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(state.error)}`);
  return state.data;
}

export async function mock(method, path, body) {
  const response = await fetch(`${mockUrl}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`mock ${method} ${path}: ${response.status}`);
  return response.status === 204 ? null : response.json();
}

/// A chat model served by the mock provider, created by the administrator.
export async function mockModel(options = {}) {
  const modelId = `mock-${randomUUID().slice(0, 8)}`;
  const model = await call(admin(), 'POST', '/models', {
    provider: 'openai_compatible',
    modelId,
    name: `Mock ${modelId}`,
    capabilities: ['chat'],
    inputPricePer1k: '0.001',
    outputPricePer1k: '0.002',
    config: { base_url: `${mockUrl}/v1` },
    ...options,
  });
  return { ...model, modelId };
}

/// A repository of the demo team holding one text document, once it is searchable.
export async function repositoryWith(name, text) {
  const repository = await call(staff(), 'POST', '/repositories', { name: `${name} ${randomUUID().slice(0, 6)}` });
  const { item } = await call(staff(), 'POST', `/repositories/${repository.id}/items`, { type: 'text', name, text });
  for (let i = 0; i < 150; i++) {
    const current = await call(staff(), 'GET', `/items/${item.id}`);
    if (current.status === 'completed') return { repository, item: current };
    if (current.status === 'failed') throw new Error(`item failed: ${current.error}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('the item did not complete');
}
