// Runs the package's nodes through n8n's own execution code (n8n-core's
// WorkflowExecute, HookContext and WebhookContext, n8n-workflow's Workflow and
// expression engine) against a real Switchboard in sandbox mode.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const require = createRequire(import.meta.url);
const root = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..');

// n8n-core keeps its instance settings (encryption key file) in the user
// folder: a throw-away one, set before n8n-core is loaded.
const n8nHome = mkdtempSync(join(tmpdir(), 'n8n-home-'));
process.env.N8N_USER_FOLDER = n8nHome;
// The nodes' errors are asserted by the tests; n8n's logger need not print them too.
process.env.N8N_LOG_LEVEL ??= 'silent';

const { Workflow, createRunExecutionData } = require('n8n-workflow');
const { ExecutionLifecycleHooks, HookContext, WebhookContext, WorkflowExecute } = require('n8n-core');
const { Switchboard } = require(join(root, 'dist/nodes/Switchboard/Switchboard.node.js'));
const { SwitchboardTrigger } = require(join(root, 'dist/nodes/SwitchboardTrigger/SwitchboardTrigger.node.js'));
const { SwitchboardApi } = require(join(root, 'dist/credentials/SwitchboardApi.credentials.js'));

export const PACKAGE = 'n8n-nodes-switchboard';
export const ACTION_TYPE = `${PACKAGE}.switchboard`;
export const TRIGGER_TYPE = `${PACKAGE}.switchboardTrigger`;

const nodeTypes = {
	types: { [ACTION_TYPE]: new Switchboard(), [TRIGGER_TYPE]: new SwitchboardTrigger() },
	getByName(type) {
		return this.types[type];
	},
	getByNameAndVersion(type) {
		return this.types[type];
	},
	getKnownTypes() {
		return {};
	},
};

export const credentialType = new SwitchboardApi();

/** A free loopback port (closed again, so the caller can bind it). */
async function freePort() {
	const server = createServer();
	await new Promise((r) => server.listen(0, '127.0.0.1', r));
	const { port } = server.address();
	await new Promise((r) => server.close(r));
	return port;
}

/**
 * The part of n8n's CredentialsHelper that nodes reach: decrypted data and
 * `authenticate`, which applies the credential type's generic `authenticate`
 * block with n8n's expression engine, as n8n's server does.
 */
function credentialsHelper(data) {
	const resolveValue = (value, credentials, workflow, node) =>
		typeof value === 'string' && value.startsWith('=')
			? workflow.expression.getSimpleParameterValue(node, value, 'internal', { $credentials: credentials }, undefined, '')
			: value;
	return {
		getParentTypes: () => [],
		// n8n restricts a credential to nodes only when its type lists supportedNodes.
		isCredentialUsableByNode: (type) => type === credentialType.name && !credentialType.supportedNodes,
		getDecrypted: async () => ({ ...data }),
		preAuthentication: async () => undefined,
		getCredentialsProperties: () => credentialType.properties,
		async authenticate(credentials, typeName, requestOptions, workflow, node) {
			if (typeName !== credentialType.name) throw new Error(`unknown credential type ${typeName}`);
			const { authenticate } = credentialType;
			for (const [outer, entries] of Object.entries(authenticate.properties)) {
				requestOptions[outer] ??= {};
				for (const [key, value] of Object.entries(entries)) {
					requestOptions[outer][resolveValue(key, credentials, workflow, node)] = resolveValue(
						value,
						credentials,
						workflow,
						node,
					);
				}
			}
			return requestOptions;
		},
		resolveValue,
	};
}

/** Switchboard's debug binary, in sandbox mode, on its own SQLite file. */
export class Switchboard_ {
	static async start() {
		const bin = process.env.SWITCHBOARD_BIN ?? resolve(root, '../../target/debug/switchboard');
		const dir = mkdtempSync(join(tmpdir(), 'switchboard-n8n-'));
		const port = await freePort();
		const env = {
			...process.env,
			SWITCHBOARD_LISTEN: `127.0.0.1:${port}`,
			SWITCHBOARD_DATA_DIR: dir,
			SWITCHBOARD_DATABASE_URL: `sqlite://${dir}/switchboard.db`,
			SWITCHBOARD_META_MODE: 'sandbox',
			SWITCHBOARD_RATE_LIMIT_PER_MINUTE: '1000',
			RUST_LOG: process.env.RUST_LOG ?? 'warn',
		};
		const child = spawn(bin, ['serve'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
		let log = '';
		child.stderr.on('data', (b) => (log = (log + b).slice(-20000)));
		const sb = Object.assign(new Switchboard_(), { bin, dir, port, env, child, base: `http://127.0.0.1:${port}` });
		sb.log = () => log;
		for (let i = 0; i < 150; i++) {
			if (child.exitCode !== null) throw new Error(`switchboard exited: ${log}`);
			try {
				if ((await fetch(`${sb.base}/readyz`)).ok) return sb;
			} catch {
				// not listening yet
			}
			await sleep(100);
		}
		throw new Error(`switchboard did not become ready: ${log}`);
	}

	async stop() {
		this.child.kill('SIGTERM');
		await new Promise((r) => (this.child.exitCode !== null ? r() : this.child.once('exit', r)));
		rmSync(this.dir, { recursive: true, force: true });
		rmSync(n8nHome, { recursive: true, force: true });
	}

	/** `switchboard admin create-user … --with-key`: an owner and an API key. */
	createUser(email) {
		const out = execFileSync(
			this.bin,
			['admin', 'create-user', '--email', email, '--password', 'a long password for tests', '--account-name', 'n8n test', '--with-key'],
			{ env: this.env, encoding: 'utf8' },
		);
		const key = /api_key=(\S+)/.exec(out)?.[1];
		if (!key) throw new Error(`no key in: ${out}`);
		return key;
	}

	async api(method, path, key, body) {
		const res = await fetch(`${this.base}${path}`, {
			method,
			headers: { 'X-API-Key': key, ...(body ? { 'Content-Type': 'application/json' } : {}) },
			body: body ? JSON.stringify(body) : undefined,
		});
		const text = await res.text();
		return { status: res.status, body: text ? JSON.parse(text) : null };
	}

	/** The sandbox's control API (JSON, no Origin: as a script calls it). */
	async sandbox(path, body) {
		const res = await fetch(`${this.base}/sandbox/api/${path}`, {
			method: 'POST',
			headers: { 'Content-Type': 'application/json' },
			body: JSON.stringify(body ?? {}),
		});
		if (!res.ok) throw new Error(`sandbox ${path}: ${res.status} ${await res.text()}`);
		return await res.json();
	}

	/**
	 * Connects the sandbox's first WhatsApp number the way a customer with
	 * their own Meta app does: a sandbox app, then POST /api/v1/channels/manual.
	 */
	async connectWhatsApp(key) {
		const app = await this.sandbox('apps', {});
		const { status, body } = await this.api('POST', '/api/v1/channels/manual', key, {
			channel_type: 'whatsapp',
			waba_id: app.waba_ids[0],
			access_token: app.access_token,
			app_secret: app.app_secret,
			verify_token: 'n8n-verify-token',
			phone_number: '+1 555 0100 001',
		});
		if (status !== 201) throw new Error(`manual connect: ${status} ${JSON.stringify(body)}`);
		// A manually connected number sends only once registered on Cloud API.
		const reg = await this.api('POST', `/api/v1/channels/${body.id}/register`, key, { pin: '123456' });
		if (reg.status !== 200) throw new Error(`register: ${reg.status} ${JSON.stringify(reg.body)}`);
		return { channel: body, app };
	}
}

/**
 * A stand-in for n8n's webhook server: receives Switchboard's POSTs, keeps the
 * raw body next to the parsed JSON (as n8n does) and hands each request to
 * the trigger's `webhook()` through n8n-core's WebhookContext.
 */
export class WebhookServer {
	static async start(onRequest) {
		const srv = new WebhookServer();
		srv.received = [];
		srv.server = createServer((req, res) => {
			const chunks = [];
			req.on('data', (c) => chunks.push(c));
			req.on('end', async () => {
				req.rawBody = Buffer.concat(chunks);
				try {
					req.body = JSON.parse(req.rawBody.toString('utf8') || '{}');
				} catch {
					req.body = {};
				}
				req.query = {};
				req.params = {};
				const response = expressLike(res);
				try {
					await onRequest(req, response, srv);
				} catch (error) {
					if (!res.headersSent) response.status(500).json({ detail: String(error) });
				}
			});
		});
		await new Promise((r) => srv.server.listen(0, '127.0.0.1', r));
		srv.base = `http://127.0.0.1:${srv.server.address().port}`;
		return srv;
	}

	async stop() {
		await new Promise((r) => this.server.close(r));
	}
}

/** The few express response methods n8n's nodes use. */
function expressLike(res) {
	const r = {
		raw: res,
		get headersSent() {
			return res.headersSent;
		},
		status(code) {
			res.statusCode = code;
			return r;
		},
		json(value) {
			res.setHeader('Content-Type', 'application/json');
			res.end(JSON.stringify(value));
			return r;
		},
		send(value) {
			res.end(value);
			return r;
		},
		end() {
			res.end();
			return r;
		},
	};
	return r;
}

/** A workflow of n8n-workflow, with our nodes and a credential stored for them. */
export function makeWorkflow({ nodes, connections = {}, staticData = {} }) {
	return new Workflow({
		id: 'wf-switchboard-test',
		name: 'Switchboard test',
		nodes,
		connections,
		active: true,
		nodeTypes,
		staticData,
		settings: { executionOrder: 'v1' },
	});
}

export function node(name, type, parameters, extra = {}) {
	return {
		id: name.replace(/\W/g, '-').toLowerCase(),
		name,
		type,
		typeVersion: 1,
		position: [0, 0],
		parameters,
		credentials: { switchboardApi: { id: 'cred-1', name: 'Switchboard' } },
		...extra,
	};
}

export function additionalData({ baseUrl, apiKey, webhookBaseUrl }) {
	return {
		credentialsHelper: credentialsHelper({ baseUrl, apiKey }),
		executionId: 'test-execution',
		webhookBaseUrl: webhookBaseUrl ?? 'http://127.0.0.1:1/webhook',
		webhookTestBaseUrl: webhookBaseUrl ?? 'http://127.0.0.1:1/webhook-test',
		webhookWaitingBaseUrl: 'http://127.0.0.1:1/webhook-waiting',
		formWaitingBaseUrl: 'http://127.0.0.1:1/form-waiting',
		restApiUrl: 'http://127.0.0.1:1/rest',
		instanceBaseUrl: 'http://127.0.0.1:1/',
		variables: {},
	};
}

/**
 * Runs `startNode` of `workflow` with `items` as its input through n8n-core's
 * WorkflowExecute (parameter resolution, expressions, continueOnFail, item
 * pairing as in n8n) and returns the node's output items, or throws the
 * node's error.
 */
export async function runNode(workflow, nodeName, items, data) {
	const additional = data;
	additional.hooks = new ExecutionLifecycleHooks('manual', 'test-execution', {
		id: workflow.id,
		name: workflow.name,
		nodes: Object.values(workflow.nodes),
		connections: workflow.connectionsBySourceNode,
		active: true,
		settings: workflow.settings,
	});
	const engine = new WorkflowExecute(additional, 'manual');
	const run = await engine.run({
		workflow,
		startNode: workflow.getNode(nodeName),
		triggerToStartFrom: {
			name: nodeName,
			data: { data: { main: [items.map((i) => (i && i.json ? i : { json: i }))] } },
		},
	});
	const error = run.data.resultData.error;
	if (error) throw error;
	const task = run.data.resultData.runData[nodeName][0];
	return task.data.main[0].map((i) => i.json);
}

/** A HookContext as n8n builds it to run webhookMethods on (de)activation. */
export function hookContext(workflow, nodeName, data, activation = 'activate') {
	return new HookContext(workflow, workflow.getNode(nodeName), data, 'trigger', activation);
}

/** A WebhookContext as n8n builds it for one incoming request. */
export function webhookContext(workflow, nodeName, data, req, res) {
	const node = workflow.getNode(nodeName);
	const webhookData = {
		httpMethod: 'POST',
		node: nodeName,
		path: 'webhook',
		webhookDescription: nodeTypes.types[node.type].description.webhooks[0],
		workflowId: workflow.id,
		workflowExecuteAdditionalData: { ...data, httpRequest: req, httpResponse: res },
	};
	return new WebhookContext(
		workflow,
		node,
		{ ...data, httpRequest: req, httpResponse: res },
		'webhook',
		webhookData,
		[],
		createRunExecutionData(),
	);
}

export { nodeTypes };
