// The Switchboard nodes run through n8n's execution code against a real
// Switchboard (the debug binary, sandbox mode, its own SQLite file).
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import {
	ACTION_TYPE,
	Switchboard_,
	TRIGGER_TYPE,
	WebhookServer,
	additionalData,
	credentialType,
	hookContext,
	makeWorkflow,
	node,
	nodeTypes,
	runNode,
	webhookContext,
} from './harness.mjs';

const PHONE_ASSET = '110000000000001';
const CUSTOMER = '15550109999';

let sb;
let key;
let channel;
let app;
let hooks; // the n8n webhook server stand-in
const triggers = new Map(); // webhookId → {workflow, name}

/** Waits (bounded) until `pick` finds something in what the trigger emitted. */
async function waitFor(pick, what) {
	for (let i = 0; i < 100; i++) {
		const found = pick();
		if (found) return found;
		await sleep(100);
	}
	throw new Error(`timed out waiting for ${what}; switchboard log:\n${sb.log()}`);
}

function data() {
	return additionalData({ baseUrl: sb.base, apiKey: key, webhookBaseUrl: `${hooks.base}/webhook` });
}

function triggerWorkflow(webhookId, parameters) {
	const name = 'Switchboard Trigger';
	const workflow = makeWorkflow({ nodes: [node(name, TRIGGER_TYPE, parameters, { webhookId })] });
	triggers.set(webhookId, { workflow, name });
	return { workflow, name };
}

async function activate({ workflow, name }) {
	const methods = nodeTypes.types[TRIGGER_TYPE].webhookMethods.default;
	const ctx = hookContext(workflow, name, data(), 'activate');
	// n8n's order on activation: create only when checkExists says no.
	if (!(await methods.checkExists.call(ctx))) assert.equal(await methods.create.call(ctx), true);
	return ctx;
}

async function deactivate({ workflow, name }) {
	const methods = nodeTypes.types[TRIGGER_TYPE].webhookMethods.default;
	return await methods.delete.call(hookContext(workflow, name, data(), 'deactivate'));
}

function actionWorkflow(parameters, extra = {}) {
	return makeWorkflow({ nodes: [node('Switchboard', ACTION_TYPE, parameters, extra)] });
}

async function action(parameters, items = [{}], extra = {}) {
	return await runNode(actionWorkflow(parameters, extra), 'Switchboard', items, data());
}

before(async () => {
	sb = await Switchboard_.start();
	key = sb.createUser('n8n@example.com');
	({ channel, app } = await sb.connectWhatsApp(key));
	// Each request is handled as n8n's webhook server does it: the trigger's
	// webhook() in a WebhookContext; the items it returns start the workflow.
	hooks = await WebhookServer.start(async (req, res, srv) => {
		const webhookId = req.url.split('/')[2];
		const target = triggers.get(webhookId);
		if (!target) return res.status(404).json({ detail: 'unknown webhook' });
		const ctx = webhookContext(target.workflow, target.name, data(), req, res);
		const result = await nodeTypes.types[TRIGGER_TYPE].webhook.call(ctx);
		srv.received.push({ webhookId, result, headers: req.headers, raw: req.rawBody });
		if (result.noWebhookResponse) return;
		res.status(200).json({ message: 'Workflow was started' });
	});
});

after(async () => {
	await hooks?.stop();
	await sb?.stop();
});

function emitted(webhookId, predicate) {
	for (const r of hooks.received) {
		if (r.webhookId !== webhookId || !r.result.workflowData) continue;
		const item = r.result.workflowData[0].map((i) => i.json).find(predicate);
		if (item) return item;
	}
	return undefined;
}

describe('credential', () => {
	test('the credential test request authenticates with X-API-Key', async () => {
		const wf = actionWorkflow({ resource: 'channel', operation: 'getAll' });
		const ctx = hookContext(wf, 'Switchboard', data());
		const helper = data().credentialsHelper;
		const resolve = (creds) => ({
			...credentialType.test.request,
			baseURL: wf.expression.getSimpleParameterValue(
				wf.getNode('Switchboard'),
				credentialType.test.request.baseURL,
				'internal',
				{ $credentials: creds },
				undefined,
				'',
			),
			method: 'GET',
			json: true,
		});
		const good = { baseUrl: `${sb.base}/`, apiKey: key };
		const options = await helper.authenticate(good, 'switchboardApi', resolve(good), wf, wf.getNode('Switchboard'));
		assert.equal(options.headers['X-API-Key'], key);
		const account = await ctx.helpers.httpRequest(options);
		assert.equal(account.mode, 'sandbox');

		const bad = { baseUrl: sb.base, apiKey: 'sb_test_wrong' };
		const badOptions = await helper.authenticate(bad, 'switchboardApi', resolve(bad), wf, wf.getNode('Switchboard'));
		await assert.rejects(ctx.helpers.httpRequest(badOptions), (e) => {
			assert.match(String(e.message), /401/);
			return true;
		});
	});
});

describe('Switchboard Trigger on a channel', () => {
	const webhookId = 'c0ffee00-0000-4000-8000-000000000001';
	let trigger;

	test('activation registers the n8n URL and a secret as the channel webhook', async () => {
		trigger = triggerWorkflow(webhookId, {
			source: 'channel',
			channelId: channel.id,
			channelEvents: ['message.received', 'message.sent'],
			options: {},
		});
		await activate(trigger);
		const { body } = await sb.api('GET', `/api/v1/channels/${channel.id}`, key);
		assert.equal(body.webhook_url, `${hooks.base}/webhook/${webhookId}/webhook`);
		assert.equal(body.has_webhook_secret, true);
		assert.deepEqual([...body.webhook_events].sort(), ['message.received', 'message.sent']);
		const reg = trigger.workflow.getStaticData('node', trigger.workflow.getNode(trigger.name));
		assert.match(reg.secret, /^[0-9a-f]{64}$/);
		// n8n asks again on the next start: the registration is still there.
		const methods = nodeTypes.types[TRIGGER_TYPE].webhookMethods.default;
		assert.equal(await methods.checkExists.call(hookContext(trigger.workflow, trigger.name, data())), true);
	});

	test('an inbound WhatsApp message arrives signed and is emitted as an item', async () => {
		const { meta_message_id } = await sb.sandbox('inbound', {
			asset_id: PHONE_ASSET,
			from: CUSTOMER,
			from_name: 'Ana',
			type: 'text',
			text: 'Hello from the n8n test',
		});
		const event = await waitFor(
			() => emitted(webhookId, (e) => e.data?.message_id === meta_message_id),
			'message.received at the trigger',
		);
		assert.equal(event.event, 'message.received');
		assert.equal(event.channel_id, channel.id);
		assert.equal(event.data.from, CUSTOMER);
		assert.equal(event.data.text, 'Hello from the n8n test');
		const delivery = hooks.received.find((r) => r.result.workflowData?.[0][0].json.event_id === event.event_id);
		assert.match(delivery.headers['x-webhook-signature'], /^sha256=[0-9a-f]{64}$/);
		assert.match(delivery.headers['webhook-signature'], /^v1,/);
	});

	test('forged, tampered and stale deliveries are refused with 401 and start nothing', async () => {
		const genuine = hooks.received.find((r) => r.webhookId === webhookId && r.result.workflowData);
		const url = `${hooks.base}/webhook/${webhookId}/webhook`;
		const before = hooks.received.length;
		const post = async (headers, body) =>
			await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body });
		const pick = (h) =>
			Object.fromEntries(
				['x-webhook-signature', 'webhook-id', 'webhook-timestamp', 'webhook-signature'].map((k) => [k, h[k]]),
			);

		// Signed with another secret.
		const forgedSecret = 'f'.repeat(64);
		const ts = String(Math.floor(Date.now() / 1000));
		const id = genuine.headers['webhook-id'];
		const forged = await post(
			{
				'x-webhook-signature': 'sha256=' + createHmac('sha256', forgedSecret).update(genuine.raw).digest('hex'),
				'webhook-id': id,
				'webhook-timestamp': ts,
				'webhook-signature':
					'v1,' + createHmac('sha256', forgedSecret).update(`${id}.${ts}.`).update(genuine.raw).digest('base64'),
			},
			genuine.raw,
		);
		assert.equal(forged.status, 401);
		assert.equal((await forged.json()).code, 'invalid_signature');

		// The genuine headers over a changed body.
		const tampered = await post(pick(genuine.headers), Buffer.from(genuine.raw.toString().replace('Hello', 'Hullo')));
		assert.equal(tampered.status, 401);

		// No signature at all.
		assert.equal((await post({}, genuine.raw)).status, 401);

		// A correct Standard Webhooks signature, but signed an hour ago (a replay).
		const reg = trigger.workflow.getStaticData('node', trigger.workflow.getNode(trigger.name));
		const old = String(Math.floor(Date.now() / 1000) - 3600);
		const stale = await post(
			{
				'x-webhook-signature': genuine.headers['x-webhook-signature'],
				'webhook-id': id,
				'webhook-timestamp': old,
				'webhook-signature':
					'v1,' + createHmac('sha256', reg.secret).update(`${id}.${old}.`).update(genuine.raw).digest('base64'),
			},
			genuine.raw,
		);
		assert.equal(stale.status, 401);

		// The genuine delivery replayed at once still passes (same bytes, fresh timestamp).
		const replay = await post(pick(genuine.headers), genuine.raw);
		assert.equal(replay.status, 200);

		const refused = hooks.received.slice(before).filter((r) => r.result.noWebhookResponse);
		assert.equal(refused.length, 4);
	});

	test('Reply answers the received event with the default expressions', async () => {
		const event = emitted(webhookId, (e) => e.event === 'message.received');
		const [sent] = await action(
			{ resource: 'message', operation: 'reply', text: 'Thanks, Ana!' },
			[event],
		);
		assert.equal(sent.success, true);
		assert.match(sent.message_id, /^[0-9a-f-]{36}$/);
		const res = await fetch(`${sb.base}/sandbox/api/outbox?asset_id=${PHONE_ASSET}&to=${CUSTOMER}`);
		const { messages } = await res.json();
		assert.ok(messages.some((m) => m.meta_message_id === sent.meta_message_id && m.text === 'Thanks, Ana!'));
		// Its status comes back through the trigger as message.sent.
		await waitFor(
			() => emitted(webhookId, (e) => e.event === 'message.sent' && e.data.message_id === sent.message_id),
			'message.sent for the reply',
		);
	});

	test('Mark Read marks the received message read, with typing, from the default expressions', async () => {
		const { meta_message_id } = await sb.sandbox('inbound', {
			asset_id: PHONE_ASSET,
			from: CUSTOMER,
			type: 'text',
			text: 'Is anyone there?',
		});
		const event = await waitFor(
			() => emitted(webhookId, (e) => e.data?.message_id === meta_message_id),
			'message.received for the message to mark read',
		);
		// What the customer's phone shows for that message (the sandbox thread).
		const statusOnPhone = async () => {
			const res = await fetch(`${sb.base}/sandbox/phone/thread?asset_id=${PHONE_ASSET}&user=${CUSTOMER}`);
			const { messages } = await res.json();
			return messages.find((m) => m.id === meta_message_id && m.direction === 'in')?.status;
		};
		assert.equal(await statusOnPhone(), 'received');

		const [answer] = await action({ resource: 'message', operation: 'markRead', typing: true }, [event]);
		assert.deepEqual(answer, { success: true });
		assert.equal(await statusOnPhone(), 'read');

		// An id Meta does not know: Meta refuses, the node fails with code meta_error.
		const unknown = {
			resource: 'message',
			operation: 'markRead',
			readChannelId: channel.id,
			readMessageId: 'wamid.unknown-to-meta',
		};
		await assert.rejects(action(unknown), (e) => {
			assert.match(String(e.description), /meta_error/);
			return true;
		});
		const [failed] = await action(unknown, [{}], { continueOnFail: true });
		assert.match(failed.error, /message_id is not a message received/);
		assert.equal(failed.success, undefined);
	});

	test('deactivation removes the registration', async () => {
		assert.equal(await deactivate(trigger), true);
		const { body } = await sb.api('GET', `/api/v1/channels/${channel.id}`, key);
		assert.equal(body.webhook_url, null);
		const reg = trigger.workflow.getStaticData('node', trigger.workflow.getNode(trigger.name));
		assert.equal(reg.secret, undefined);
	});

	test('a channel that delivers elsewhere is taken over only when allowed', async () => {
		const other = 'http://127.0.0.1:9/elsewhere';
		await sb.api('PATCH', `/api/v1/channels/${channel.id}`, key, { webhook_url: other });
		const guarded = triggerWorkflow('c0ffee00-0000-4000-8000-000000000002', {
			source: 'channel',
			channelId: channel.id,
			channelEvents: ['message.received'],
			options: {},
		});
		await assert.rejects(activate(guarded), /already delivers its events to http:\/\/127\.0\.0\.1:9\/elsewhere/);
		assert.equal((await sb.api('GET', `/api/v1/channels/${channel.id}`, key)).body.webhook_url, other);

		const taking = triggerWorkflow('c0ffee00-0000-4000-8000-000000000003', {
			source: 'channel',
			channelId: channel.id,
			channelEvents: ['message.received'],
			options: { replaceExisting: true },
		});
		await activate(taking);
		const url = `${hooks.base}/webhook/c0ffee00-0000-4000-8000-000000000003/webhook`;
		assert.equal((await sb.api('GET', `/api/v1/channels/${channel.id}`, key)).body.webhook_url, url);
		assert.equal(await deactivate(taking), true);
	});
});

describe('Switchboard node', () => {
	test('Channel → Get Many lists the connected channel', async () => {
		const channels = await action({ resource: 'channel', operation: 'getAll' });
		assert.equal(channels.length, 1);
		assert.equal(channels[0].id, channel.id);
		assert.equal(channels[0].channel_type, 'whatsapp');
	});

	test('the channel dropdown lists the channel', async () => {
		const wf = actionWorkflow({ resource: 'message', operation: 'sendText' });
		const ctx = hookContext(wf, 'Switchboard', data());
		const options = await nodeTypes.types[ACTION_TYPE].methods.loadOptions.getChannels.call(ctx);
		assert.deepEqual(options.map((o) => o.value), [channel.id]);
	});

	test('Send Text sends once per idempotency key', async () => {
		const params = {
			resource: 'message',
			operation: 'sendText',
			channelId: channel.id,
			recipient: CUSTOMER,
			text: 'Your order shipped',
			additionalFields: { idempotencyKey: 'order-42-shipped' },
		};
		const [first] = await action(params);
		const [again] = await action(params);
		assert.equal(first.success, true);
		assert.equal(first.status, 'sent');
		assert.equal(again.message_id, first.message_id);
	});

	test('Send Text sends one message per input item, with expressions', async () => {
		const out = await action(
			{
				resource: 'message',
				operation: 'sendText',
				channelId: channel.id,
				recipient: '={{ $json.to }}',
				text: '=Hello {{ $json.name }}',
				additionalFields: {},
			},
			[
				{ to: CUSTOMER, name: 'Ana' },
				{ to: CUSTOMER, name: 'Bo' },
			],
		);
		assert.equal(out.length, 2);
		assert.notEqual(out[0].message_id, out[1].message_id);
		const { messages } = await (await fetch(`${sb.base}/sandbox/api/outbox?asset_id=${PHONE_ASSET}&to=${CUSTOMER}`)).json();
		assert.ok(messages.some((m) => m.text === 'Hello Bo'));
	});

	test('Switchboard errors surface with their detail and code', async () => {
		const params = {
			resource: 'message',
			operation: 'sendText',
			channelId: channel.id,
			recipient: '15550100777', // never wrote: the 24-hour window is closed
			text: 'Hi',
			additionalFields: {},
		};
		await assert.rejects(action(params), (e) => {
			assert.match(e.message, /template/i);
			assert.match(String(e.description), /outside_window/);
			return true;
		});
		// With "continue on fail" the error becomes the item.
		const [item] = await action(params, [{}], { continueOnFail: true });
		assert.match(item.error, /template/i);
	});

	test('Send Media sends a linked image and an uploaded file', async () => {
		const [linked] = await action({
			resource: 'message',
			operation: 'sendMedia',
			channelId: channel.id,
			recipient: CUSTOMER,
			mediaType: 'image',
			mediaSource: 'link',
			mediaLink: 'https://files.example.com/box.jpg',
			additionalFields: { caption: 'Your box' },
		});
		assert.equal(linked.success, true);

		const pdf = Buffer.from('%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n');
		const [uploaded] = await action(
			{
				resource: 'message',
				operation: 'sendMedia',
				channelId: channel.id,
				recipient: CUSTOMER,
				mediaType: 'document',
				mediaSource: 'binary',
				binaryPropertyName: 'data',
				additionalFields: { filename: 'invoice.pdf' },
			},
			[{ json: {}, binary: { data: { data: pdf.toString('base64'), mimeType: 'application/pdf', fileName: 'invoice.pdf' } } }],
		);
		assert.equal(uploaded.success, true);
		const { messages } = await (await fetch(`${sb.base}/sandbox/api/outbox?asset_id=${PHONE_ASSET}&to=${CUSTOMER}`)).json();
		const types = messages.map((m) => m.type);
		assert.ok(types.includes('image') && types.includes('document'), JSON.stringify(types));
	});

	test('Template → Get Many and Send Template', async () => {
		const created = await sb.api('POST', `/api/v1/channels/${channel.id}/templates`, key, {
			name: 'order_update',
			language: 'en_US',
			category: 'UTILITY',
			components: [
				{ type: 'BODY', text: 'Hi {{1}}, order {{2}} is on its way.', example: { body_text: [['Ana', '#42']] } },
			],
		});
		assert.equal(created.status, 201, JSON.stringify(created.body));
		await sb.sandbox(`templates/${created.body.id}/review`, { status: 'APPROVED' });

		const approved = await waitForTemplates();
		assert.ok(approved.some((t) => t.name === 'order_update' && t.status === 'APPROVED'));

		const [sent] = await action({
			resource: 'message',
			operation: 'sendTemplate',
			channelId: channel.id,
			recipient: '15550100888', // templates need no open window
			templateName: 'order_update',
			language: 'en_US',
			bodyParameters: { parameter: [{ value: 'Ana' }, { value: '#42' }] },
			additionalFields: {},
		});
		assert.equal(sent.success, true);
		const { messages } = await (await fetch(`${sb.base}/sandbox/api/outbox?asset_id=${PHONE_ASSET}&to=15550100888`)).json();
		assert.equal(messages.length, 1);
		assert.equal(messages[0].type, 'template');
	});

	async function waitForTemplates() {
		for (let i = 0; i < 50; i++) {
			const templates = await action({
				resource: 'template',
				operation: 'getAll',
				channelId: channel.id,
				filters: { status: 'APPROVED', sync: true },
			});
			if (templates.length > 0) return templates;
			await sleep(100);
		}
		throw new Error('no approved template listed');
	}

	test('Delivery → Get looks up a delivery with its attempts and payload', async () => {
		const { body } = await sb.api('GET', `/api/v1/deliveries?channel_id=${channel.id}&event=message.received`, key);
		const some = body.deliveries.find((d) => d.status === 'delivered');
		assert.ok(some, JSON.stringify(body));
		const [delivery] = await action({ resource: 'delivery', operation: 'get', deliveryId: some.id });
		assert.equal(delivery.id, some.id);
		assert.equal(delivery.status, 'delivered');
		assert.equal(delivery.payload.event_id, some.event_id);
		assert.ok(delivery.attempts.length >= 1);
	});
});

describe('Switchboard Trigger on account events', () => {
	const webhookId = 'c0ffee00-0000-4000-8000-0000000000a1';
	let trigger;

	test('activation creates an event endpoint; channel news arrive as items', async () => {
		trigger = triggerWorkflow(webhookId, {
			source: 'account',
			accountEvents: ['channel.connected', 'channel.disconnected'],
			options: { retryPolicy: 'extended' },
		});
		await activate(trigger);
		const reg = trigger.workflow.getStaticData('node', trigger.workflow.getNode(trigger.name));
		const endpoint = await sb.api('GET', `/api/v1/event-endpoints/${reg.endpointId}`, key);
		assert.equal(endpoint.status, 200);
		assert.equal(endpoint.body.url, `${hooks.base}/webhook/${webhookId}/webhook`);
		assert.equal(endpoint.body.retry_policy, 'extended');

		// Disconnecting the channel, then connecting its number again
		// (which reactivates it in place), emits one account event each.
		assert.equal((await sb.api('DELETE', `/api/v1/channels/${channel.id}`, key)).status, 200);
		const gone = await waitFor(
			() => emitted(webhookId, (e) => e.event === 'channel.disconnected' && e.data.channel_id === channel.id),
			'channel.disconnected at the account trigger',
		);
		assert.equal(gone.data.phone_number, '15550100001');
		const again = await sb.api('POST', '/api/v1/channels/manual', key, {
			channel_type: 'whatsapp',
			waba_id: app.waba_ids[0],
			access_token: app.access_token,
			app_secret: app.app_secret,
			verify_token: 'n8n-verify-token',
			phone_number: '+1 555 0100 001',
		});
		assert.ok([200, 201].includes(again.status), JSON.stringify(again.body)); // 200: reactivated
		assert.equal(again.body.id, channel.id);
		const back = await waitFor(
			() => emitted(webhookId, (e) => e.event === 'channel.connected' && e.data.channel_id === channel.id),
			'channel.connected at the account trigger',
		);
		assert.equal(back.account_id !== undefined, true);
	});

	test('deactivation deletes the event endpoint', async () => {
		const reg = trigger.workflow.getStaticData('node', trigger.workflow.getNode(trigger.name));
		const id = reg.endpointId;
		assert.equal(await deactivate(trigger), true);
		assert.equal((await sb.api('GET', `/api/v1/event-endpoints/${id}`, key)).status, 404);
		// Deactivating twice is harmless.
		assert.equal(await deactivate(trigger), true);
	});
});
