#!/usr/bin/env node
// Real-client compatibility test: drives Wix's own published JavaScript SDK
// (@wix/sdk + @wix/inbox, exact versions pinned in package.json) against a
// live server of ours and asserts that everything round-trips unchanged.
//
//   node tests/js/sdk_compat.mjs <baseUrl> <apiKey>
//   e.g. node tests/js/sdk_compat.mjs http://127.0.0.1:8000 ibx_xxx
//
// Prints one JSON line per check ({"check", "ok", ...}) and exits 1 at the
// first failure; the failing line carries the assertion message and the last
// HTTP exchanges the SDK made, so a server-side bug can be read off directly.
// See README.md beside this file for the exact requests the SDK sends.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { inspect } from 'node:util';

import { ApiKeyStrategy, createClient } from '@wix/sdk';
import { conversations, messages } from '@wix/inbox';

const [baseUrlArg, apiKey] = process.argv.slice(2);
if (!baseUrlArg || !apiKey) {
  console.error('usage: node tests/js/sdk_compat.mjs <baseUrl> <apiKey>');
  process.exit(2);
}
const baseUrl = new URL(baseUrlArg);

// ---------------------------------------------------------------------------
// HTTP plumbing.
//
// The SDK always builds `https://${host.apiBaseUrl}${path}` (see
// @wix/sdk/build/rest-modules.js), and for any host other than Wix's own it
// maps the service paths to /crm/inbox/v2/... (resolveUrl in
// @wix/sdk-runtime/build/rest-modules.js).  So we hand it `host:port` as
// apiBaseUrl and give createClient a `fetch` that swaps the scheme back to the
// one of <baseUrl> (http on loopback).  Nothing else about the request is
// touched.  Each exchange is recorded for failure reports.
// ---------------------------------------------------------------------------
const exchanges = [];
const clip = (s, n = 1500) => (typeof s === 'string' && s.length > n ? `${s.slice(0, n)}…(${s.length} chars)` : s);

async function loopbackFetch(input, init = {}) {
  const url = new URL(String(input));
  if (url.host === baseUrl.host) url.protocol = baseUrl.protocol;
  const entry = {
    request: {
      method: init.method ?? 'GET',
      url: url.toString(),
      headers: { ...init.headers, Authorization: '<api key>' },
      body: clip(init.body),
    },
  };
  if (url.searchParams.has('.r')) {
    entry.request.decodedR = JSON.parse(Buffer.from(url.searchParams.get('.r'), 'base64url').toString('utf8'));
  }
  exchanges.push(entry);
  if (exchanges.length > 4) exchanges.shift();
  const res = await fetch(url, init);
  entry.response = { status: res.status, contentType: res.headers.get('content-type'), body: clip(await res.clone().text()) };
  return res;
}

function makeClient(key) {
  return createClient({
    modules: { conversations, messages },
    auth: ApiKeyStrategy({ apiKey: key }),
    host: { apiBaseUrl: baseUrl.host },
    fetch: loopbackFetch,
  });
}
const client = makeClient(apiKey);

// ---------------------------------------------------------------------------
// Check runner: one JSON line per check, stop at the first failure.
// ---------------------------------------------------------------------------
async function check(name, fn) {
  exchanges.length = 0;
  let info;
  try {
    info = await fn();
  } catch (err) {
    const line = {
      check: name,
      ok: false,
      error: describe(err),
      lastHttp: exchanges,
    };
    console.log(JSON.stringify(line));
    console.error(`\nFAILED: ${name}\n${line.error}\nlast HTTP exchanges:\n${JSON.stringify(exchanges, null, 2)}`);
    process.exit(1);
  }
  console.log(JSON.stringify({ check: name, ok: true, ...(info === undefined ? {} : { info }) }));
}

/** Assertion text as is; an SDK rejection as status + its JSON message; anything else in full. */
function describe(err) {
  if (err instanceof assert.AssertionError) return err.message;
  if (err && typeof err === 'object' && 'details' in err) {
    return `the SDK call rejected unexpectedly: HTTP ${err.status}; ${err.message}`;
  }
  return inspect(err, { depth: 6 });
}

/** Await a promise that must reject; return the SDK error it rejected with. */
async function rejection(promise, what) {
  try {
    const value = await promise;
    assert.fail(`${what}: expected the SDK call to reject, it resolved with ${inspect(value, { depth: 4 })}`);
  } catch (err) {
    if (err instanceof assert.AssertionError) throw err;
    return err;
  }
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const isUuid = (s) => typeof s === 'string' && UUID_RE.test(s);

// ---------------------------------------------------------------------------
// Conversations
// ---------------------------------------------------------------------------
const contactId = randomUUID();
let conversationId;

await check('getOrCreateConversation creates a conversation for a new contact', async () => {
  const res = await client.conversations.getOrCreateConversation({ contactId });
  assert.equal(res.newConversation, true, 'newConversation must be true on first call');
  const conv = res.conversation;
  assert.ok(conv, 'response must contain "conversation"');
  assert.ok(isUuid(conv._id), `conversation.id must be a GUID (SDK exposes it as _id), got ${inspect(conv._id)}`);
  assert.equal(conv.id, undefined, 'the SDK renames id -> _id; a raw "id" must not survive');
  assert.equal(conv.participant?.contactId, contactId, 'conversation.participant.contactId must echo the contactId');
  assert.ok(Array.isArray(conv.channels), 'conversation.channels must be present as an array (repeated fields are always present)');
  conversationId = conv._id;
  return { conversationId };
});

await check('getOrCreateConversation again returns the same conversation, newConversation=false', async () => {
  const res = await client.conversations.getOrCreateConversation({ contactId });
  assert.equal(res.newConversation, false, 'second call must say newConversation: false');
  assert.equal(res.conversation?._id, conversationId, 'second call must return the same conversation id');
});

await check('getConversation returns the bare conversation', async () => {
  // The SDK unwraps {conversation} and returns the Conversation itself.
  const conv = await client.conversations.getConversation(conversationId);
  assert.ok(conv, 'getConversation resolved to nothing: the response must be {"conversation": {...}}');
  assert.equal(conv._id, conversationId);
  assert.equal(conv.participant?.contactId, contactId);
});

// ---------------------------------------------------------------------------
// sendMessage: every sendable content type
// ---------------------------------------------------------------------------
const B2P = 'BUSINESS_TO_PARTICIPANT';
const P2B = 'PARTICIPANT_TO_BUSINESS';
const sent = []; // SDK-shaped messages in send order, with the visibility we expect

function assertStoredMessage(msg, { direction, visibility, sendAs }) {
  assert.ok(msg, 'sendMessage must resolve to {message}: the response body must be {"message": {...}}');
  assert.equal(typeof msg._id, 'string', `message.id must be a string (SDK: _id), got ${inspect(msg._id)}`);
  assert.ok(msg._id.length > 0 && msg._id.length <= 20, `message.id must be 1..20 chars, got ${inspect(msg._id)}`);
  assert.equal(typeof msg.sequence, 'string', `message.sequence must be an int64 serialized as a JSON string, got ${inspect(msg.sequence)}`);
  assert.match(msg.sequence, /^[0-9]+$/, 'message.sequence must be a decimal string');
  assert.ok(msg._createdDate instanceof Date && !Number.isNaN(msg._createdDate.getTime()),
    `message.createdDate must be an ISO-8601 timestamp (SDK turns it into a Date), got ${inspect(msg._createdDate)}`);
  assert.equal(msg.direction, direction);
  assert.equal(msg.visibility, visibility);
  assert.ok(Array.isArray(msg.badges), 'message.badges must be present as an array');
  if (sendAs === 'PARTICIPANT') {
    assert.equal(msg.sender?.contactId, contactId, `sendAs PARTICIPANT: sender must be the participant {contactId}, got ${inspect(msg.sender)}`);
  } else {
    assert.ok(isUuid(msg.sender?.appId), `sent by an API key: sender must be {appId: <app uuid>}, got ${inspect(msg.sender)}`);
  }
  assert.ok(isUuid(msg.appId), `message.appId must be the calling app's uuid, got ${inspect(msg.appId)}`);
}

async function send(label, message, { sendAs, expectVisibility } = {}) {
  const res = await client.messages.sendMessage(conversationId, message, sendAs ? { sendAs } : undefined);
  const msg = res?.message;
  assertStoredMessage(msg, {
    direction: message.direction,
    visibility: expectVisibility ?? message.visibility ?? 'BUSINESS_AND_PARTICIPANT',
    sendAs,
  });
  if (sent.length) {
    const prev = sent[sent.length - 1];
    assert.ok(BigInt(msg.sequence) > BigInt(prev.sequence),
      `sequence must increase strictly within a conversation: ${prev.sequence} then ${msg.sequence}`);
  }
  sent.push(msg);
  return msg;
}

await check('sendMessage basic text (BUSINESS_TO_PARTICIPANT, visibility defaulted)', async () => {
  const msg = await send('text', {
    direction: B2P,
    content: { previewText: 'Hello!', basic: { items: [{ text: 'Hello from the SDK compat test' }] } },
  });
  assert.deepEqual(msg.content.basic.items, [{ text: 'Hello from the SDK compat test' }]);
  assert.equal(msg.content.previewText, 'Hello!');
  return { id: msg._id, sequence: msg.sequence };
});

await check('sendMessage basic text at the 16384-char limit', async () => {
  const text = 'x'.repeat(16384);
  const msg = await send('long text', { direction: B2P, content: { basic: { items: [{ text }] } } });
  assert.equal(msg.content.basic.items[0].text, text);
  return { id: msg._id };
});

await check('sendMessage basic image (PARTICIPANT_TO_BUSINESS, sendAs PARTICIPANT)', async () => {
  const image = { url: 'https://static.example.com/cat.png', filename: 'cat.png', width: 640, height: 480 };
  const msg = await send('image', {
    direction: P2B,
    visibility: 'BUSINESS_AND_PARTICIPANT',
    content: { basic: { items: [{ image }] } },
  }, { sendAs: 'PARTICIPANT' });
  const got = msg.content.basic.items[0].image;
  assert.ok(got, `content.basic.items[0].image missing: ${inspect(msg.content, { depth: 6 })}`);
  assert.equal(got.url, image.url);
  assert.equal(got.filename, image.filename);
  assert.equal(got.width, image.width);
  assert.equal(got.height, image.height);
  if (got.urlExpiration !== undefined) {
    assert.ok(got.urlExpiration instanceof Date && !Number.isNaN(got.urlExpiration.getTime()), 'image.urlExpiration must be an ISO timestamp');
  }
  return { id: msg._id };
});

await check('sendMessage basic file (BUSINESS_TO_PARTICIPANT)', async () => {
  const file = { url: 'https://static.example.com/invoice.pdf', filename: 'invoice.pdf', mimeType: 'application/pdf' };
  const msg = await send('file', { direction: B2P, content: { basic: { items: [{ file }] } } });
  const got = msg.content.basic.items[0].file;
  assert.ok(got, `content.basic.items[0].file missing: ${inspect(msg.content, { depth: 6 })}`);
  assert.equal(got.url, file.url);
  assert.equal(got.filename, file.filename);
  assert.equal(got.mimeType, file.mimeType);
  return { id: msg._id };
});

await check('sendMessage template with a launchUrl button and a postback button', async () => {
  const template = {
    title: 'Your booking',
    imageUrl: 'https://static.example.com/spa.jpg',
    textLines: ['Tuesday 10:00', 'Deep tissue massage'],
    buttons: [
      { label: 'Open booking', launchUrl: 'https://example.com/bookings/42' },
      { label: 'Confirm', postbackProperties: { interactionId: 'confirm-42' } },
    ],
  };
  const msg = await send('template', { direction: B2P, visibility: 'BUSINESS_AND_PARTICIPANT', content: { template } });
  const got = msg.content.template;
  assert.ok(got, `content.template missing: ${inspect(msg.content, { depth: 6 })}`);
  assert.equal(got.title, template.title);
  assert.equal(got.imageUrl, template.imageUrl);
  assert.deepEqual(got.textLines, template.textLines);
  assert.equal(got.orientation, 'PORTRAIT', 'template.orientation defaults to PORTRAIT and is returned');
  assert.equal(got.buttons?.length, 2, 'both buttons must be stored');
  assert.equal(got.buttons[0].label, 'Open booking');
  assert.equal(got.buttons[0].launchUrl, 'https://example.com/bookings/42');
  assert.equal(got.buttons[1].label, 'Confirm');
  assert.equal(got.buttons[1].postbackProperties?.interactionId, 'confirm-42');
  assert.equal(got.buttons[1].postbackProperties?.appId, msg.appId,
    'postbackProperties.appId is read-only and set by the server to the calling app');
  return { id: msg._id };
});

await check('sendMessage minimal with visibility BUSINESS (sendAs PARTICIPANT)', async () => {
  const minimal = { text: 'Booked a spa appointment', iconUrl: 'https://static.example.com/spa.svg', url: 'https://example.com/bookings/42' };
  const msg = await send('minimal', { direction: P2B, visibility: 'BUSINESS', content: { minimal } }, { sendAs: 'PARTICIPANT' });
  assert.equal(msg.content.minimal?.text, minimal.text);
  assert.equal(msg.content.minimal?.iconUrl, minimal.iconUrl);
  assert.equal(msg.content.minimal?.url, minimal.url);
  return { id: msg._id };
});

await check('sendMessage form with fields and visibility BUSINESS (sendAs PARTICIPANT)', async () => {
  const form = {
    title: 'Contact form',
    description: 'Submitted from the landing page',
    fields: [
      { name: 'Name', value: 'Ada Lovelace' },
      { name: 'Email', value: 'ada@example.com' },
      { name: 'Message', value: 'Do you have an opening on Tuesday?' },
    ],
  };
  const msg = await send('form', { direction: P2B, visibility: 'BUSINESS', content: { form } }, { sendAs: 'PARTICIPANT' });
  assert.equal(msg.content.form?.title, form.title);
  assert.equal(msg.content.form?.description, form.description);
  assert.deepEqual(msg.content.form?.fields, form.fields);
  return { id: msg._id };
});

// ---------------------------------------------------------------------------
// listMessages: paging and sorting
// ---------------------------------------------------------------------------
const bySeqAsc = [...sent].sort((a, b) => (BigInt(a.sequence) < BigInt(b.sequence) ? -1 : 1));
const ids = (list) => list.map((m) => m._id);
const participantVisible = bySeqAsc.filter((m) => m.visibility === 'BUSINESS_AND_PARTICIPANT');

/** Walk every page with limit 2 following pagingMetadata.cursors.next. */
async function walk(visibility, sorting) {
  const seen = [];
  const pages = [];
  let cursor;
  for (let page = 0; ; page++) {
    assert.ok(page < 50, 'more than 50 pages of 2 messages: cursors.next never ends');
    const options = { paging: cursor ? { limit: 2, cursor } : { limit: 2 } };
    if (sorting) options.sorting = sorting;
    const res = await client.messages.listMessages(conversationId, visibility, options);
    assert.ok(Array.isArray(res?.messages), `listMessages must return {"messages": [...]}, got ${inspect(res, { depth: 3 })}`);
    assert.ok(res.messages.length <= 2, `paging.limit 2 returned ${res.messages.length} messages`);
    if (cursor) {
      assert.ok(res.messages.length > 0, 'cursors.next was returned but the page it leads to is empty: send next only when another page exists');
    }
    if (res.pagingMetadata?.count !== undefined) {
      assert.equal(res.pagingMetadata.count, res.messages.length, 'pagingMetadata.count must be the number of items on this page');
    }
    seen.push(...res.messages);
    pages.push(res.messages.length);
    const next = res.pagingMetadata?.cursors?.next;
    if (!next) break;
    assert.equal(typeof next, 'string');
    cursor = next;
  }
  const dupes = ids(seen).filter((id, i, all) => all.indexOf(id) !== i);
  assert.deepEqual(dupes, [], `messages seen more than once while paging: ${dupes}`);
  return { seen, pages };
}

function assertSameMessages(listed, expected, label) {
  assert.deepEqual(ids(listed), ids(expected), `${label}: wrong messages or wrong order (ids)`);
  for (let i = 0; i < listed.length; i++) {
    const [l, s] = [listed[i], expected[i]];
    assert.equal(l.sequence, s.sequence, `${label}: sequence of ${s._id}`);
    assert.equal(l._createdDate?.getTime(), s._createdDate.getTime(), `${label}: createdDate of ${s._id}`);
    assert.equal(l.direction, s.direction, `${label}: direction of ${s._id}`);
    assert.equal(l.visibility, s.visibility, `${label}: visibility of ${s._id}`);
    assert.deepEqual(l.sender, s.sender, `${label}: sender of ${s._id}`);
    assert.deepEqual(l.content, s.content, `${label}: content of ${s._id} differs between list and send response`);
  }
}

await check('listMessages without paging (flat query params) returns everything, newest first', async () => {
  const res = await client.messages.listMessages(conversationId, 'BUSINESS');
  assert.ok(Array.isArray(res?.messages), `listMessages must return {"messages": [...]}, got ${inspect(res, { depth: 3 })}`);
  assertSameMessages(res.messages, [...bySeqAsc].reverse(), 'BUSINESS, default paging');
  assert.equal(res.pagingMetadata?.cursors?.next ?? undefined, undefined, 'no cursors.next when everything fits in one page');
  return { count: res.messages.length };
});

await check('listMessages BUSINESS, limit 2, default order (DESC) walking cursors.next', async () => {
  const { seen, pages } = await walk('BUSINESS');
  assertSameMessages(seen, [...bySeqAsc].reverse(), 'BUSINESS DESC');
  return { pages };
});

await check('listMessages BUSINESS, limit 2, explicit DESC walking cursors.next', async () => {
  const { seen, pages } = await walk('BUSINESS', { fieldName: 'sequence', order: 'DESC' });
  assertSameMessages(seen, [...bySeqAsc].reverse(), 'BUSINESS DESC');
  return { pages };
});

await check('listMessages BUSINESS, limit 2, ASC walking cursors.next', async () => {
  const { seen, pages } = await walk('BUSINESS', { fieldName: 'sequence', order: 'ASC' });
  assertSameMessages(seen, bySeqAsc, 'BUSINESS ASC');
  return { pages };
});

await check('listMessages BUSINESS_AND_PARTICIPANT excludes BUSINESS-only messages', async () => {
  const { seen, pages } = await walk('BUSINESS_AND_PARTICIPANT');
  assert.ok(seen.every((m) => m.visibility === 'BUSINESS_AND_PARTICIPANT'),
    `a BUSINESS message leaked into the participant view: ${ids(seen.filter((m) => m.visibility !== 'BUSINESS_AND_PARTICIPANT'))}`);
  assertSameMessages(seen, [...participantVisible].reverse(), 'BUSINESS_AND_PARTICIPANT DESC');
  const asc = await walk('BUSINESS_AND_PARTICIPANT', { fieldName: 'sequence', order: 'ASC' });
  assertSameMessages(asc.seen, participantVisible, 'BUSINESS_AND_PARTICIPANT ASC');
  return { pages, count: seen.length };
});

// ---------------------------------------------------------------------------
// Errors, as the SDK surfaces them: the promise rejects with an Error whose
// `details` is {applicationError: {code, description, data}, requestId} or
// {validationError: {fieldViolations: [...]}, requestId}, and whose `status`
// is the HTTP status.
// ---------------------------------------------------------------------------
await check('getConversation of an unknown conversation rejects with CONVERSATION_NOT_FOUND', async () => {
  const err = await rejection(client.conversations.getConversation(randomUUID()), 'getConversation(unknown uuid)');
  assert.equal(err.status, 404, `HTTP status must be 404, got ${err.status}`);
  assert.equal(err.details?.applicationError?.code, 'CONVERSATION_NOT_FOUND',
    `err.details.applicationError.code must be CONVERSATION_NOT_FOUND, got ${inspect(err.details, { depth: 5 })}`);
  return { message: JSON.parse(err.message).message };
});

await check('sendMessage with a 16385-char text rejects with a validation error', async () => {
  const err = await rejection(client.messages.sendMessage(conversationId, {
    direction: B2P,
    content: { basic: { items: [{ text: 'y'.repeat(16385) }] } },
  }), 'sendMessage(oversize text)');
  assert.equal(err.status, 400, `HTTP status must be 400, got ${err.status}`);
  const violations = err.details?.validationError?.fieldViolations;
  assert.ok(Array.isArray(violations) && violations.length > 0,
    `err.details.validationError.fieldViolations must be a non-empty array, got ${inspect(err.details, { depth: 5 })}`);
  assert.ok(violations.some((v) => v.field === 'message.content.basic.items[0].text'),
    `a field violation must point at message.content.basic.items[0].text, got ${inspect(violations)}`);
  return { message: JSON.parse(err.message).message };
});

await check('the rejected send wrote nothing', async () => {
  const res = await client.messages.listMessages(conversationId, 'BUSINESS');
  assert.deepEqual(ids(res.messages), ids([...bySeqAsc].reverse()));
});

await check('a wrong API key is rejected with 401', async () => {
  const err = await rejection(makeClient(`wrong-${randomUUID()}`).conversations.getConversation(conversationId), 'getConversation(wrong key)');
  assert.equal(err.status, 401, `HTTP status must be 401, got ${err.status}`);
  assert.ok(err.details?.applicationError, `401 must surface as an applicationError, got ${inspect(err.details, { depth: 5 })}`);
  return { code: err.details.applicationError.code };
});

console.log(JSON.stringify({ check: 'all', ok: true, info: { conversationId, messages: sent.length } }));
