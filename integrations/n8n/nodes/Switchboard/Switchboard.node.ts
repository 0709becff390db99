import type {
	IDataObject,
	IExecuteFunctions,
	ILoadOptionsFunctions,
	INodeExecutionData,
	INodePropertyOptions,
	INodeType,
	INodeTypeDescription,
} from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { messageFields, otherFields } from './descriptions';
import { channelOptions, switchboardRequest } from '../shared/transport';
import { uploadBinary } from '../shared/upload';

/** The optional header of a send: makes a retried item send at most once. */
function idempotencyHeaders(key: unknown): IDataObject | undefined {
	return typeof key === 'string' && key.trim() !== '' ? { 'Idempotency-Key': key.trim() } : undefined;
}

/** Drops empty optional fields, so the API sees only what the user set. */
function compact(body: IDataObject): IDataObject {
	return Object.fromEntries(
		Object.entries(body).filter(([, v]) => v !== undefined && v !== null && v !== ''),
	);
}

function parseJsonObject(ctx: IExecuteFunctions, value: unknown, field: string, i: number): IDataObject {
	if (typeof value === 'object' && value !== null) return value as IDataObject;
	try {
		const parsed = JSON.parse(String(value));
		if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as IDataObject;
	} catch {
		// reported below
	}
	throw new NodeOperationError(ctx.getNode(), `${field} must be a JSON object`, { itemIndex: i });
}

export class Switchboard implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Switchboard',
		name: 'switchboard',
		icon: 'file:switchboard.svg',
		group: ['output'],
		version: 1,
		subtitle: '={{$parameter["operation"] + ": " + $parameter["resource"]}}',
		description: 'Send WhatsApp, Instagram and Messenger messages through Switchboard',
		defaults: {
			name: 'Switchboard',
		},
		inputs: ['main'],
		outputs: ['main'],
		credentials: [
			{
				name: 'switchboardApi',
				required: true,
			},
		],
		properties: [
			{
				displayName: 'Resource',
				name: 'resource',
				type: 'options',
				noDataExpression: true,
				options: [
					{ name: 'Channel', value: 'channel' },
					{ name: 'Delivery', value: 'delivery' },
					{ name: 'Message', value: 'message' },
					{ name: 'Template', value: 'template' },
				],
				default: 'message',
			},
			...messageFields,
			...otherFields,
		],
	};

	methods = {
		loadOptions: {
			async getChannels(this: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
				return await channelOptions.call(this);
			},
		},
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = this.getInputData();
		const out: INodeExecutionData[] = [];
		const resource = this.getNodeParameter('resource', 0) as string;
		const operation = this.getNodeParameter('operation', 0) as string;

		for (let i = 0; i < items.length; i++) {
			try {
				const results = await runOne(this, resource, operation, i);
				for (const json of results) out.push({ json, pairedItem: { item: i } });
			} catch (error) {
				if (this.continueOnFail()) {
					out.push({ json: { error: (error as Error).message }, pairedItem: { item: i } });
					continue;
				}
				throw error;
			}
		}
		return [out];
	}
}

/** One item of one operation; returns the items it produces. */
async function runOne(
	ctx: IExecuteFunctions,
	resource: string,
	operation: string,
	i: number,
): Promise<IDataObject[]> {
	const param = (name: string, fallback?: unknown) => ctx.getNodeParameter(name, i, fallback);

	if (resource === 'message') {
		if (operation === 'sendText') {
			const extra = param('additionalFields', {}) as IDataObject;
			const body = compact({
				channel_id: param('channelId') as string,
				recipient: param('recipient') as string,
				type: 'text',
				text: param('text') as string,
				reply_to: extra.replyTo as string,
			});
			return [await send(ctx, '/messages/send', body, extra.idempotencyKey)];
		}
		if (operation === 'reply') {
			const extra = param('additionalFields', {}) as IDataObject;
			const body = {
				channel_id: param('replyChannelId') as string,
				recipient: param('replyRecipient') as string,
				type: 'text',
				text: param('text') as string,
				reply_to: param('replyToMessageId') as string,
			};
			return [await send(ctx, '/messages/send', body, extra.idempotencyKey)];
		}
		if (operation === 'markRead') {
			const body = {
				channel_id: param('readChannelId') as string,
				message_id: param('readMessageId') as string,
				typing: param('typing', false) === true,
			};
			return [await switchboardRequest.call(ctx, 'POST', '/messages/read', { body })];
		}
		if (operation === 'sendMedia') {
			const extra = param('additionalFields', {}) as IDataObject;
			const kind = param('mediaType') as string;
			const source = param('mediaSource') as string;
			let media: IDataObject;
			if (source === 'link') {
				media = { link: param('mediaLink') as string };
			} else if (source === 'mediaId') {
				media = { media_id: param('mediaId') as string };
			} else {
				const uploaded = await uploadBinary(ctx, i, param('binaryPropertyName') as string, kind);
				media = { media_id: uploaded.id as string };
			}
			media = compact({ ...media, caption: extra.caption as string, filename: extra.filename as string });
			const body = compact({
				channel_id: param('channelId') as string,
				recipient: param('recipient') as string,
				type: kind,
				media,
				reply_to: extra.replyTo as string,
			});
			return [await send(ctx, '/messages/send', body, extra.idempotencyKey)];
		}
		if (operation === 'sendTemplate') {
			const extra = param('additionalFields', {}) as IDataObject;
			let variables: IDataObject | undefined;
			if (extra.variablesJson !== undefined && extra.variablesJson !== '') {
				variables = parseJsonObject(ctx, extra.variablesJson, 'Variables (JSON)', i);
			} else {
				const rows = ((param('bodyParameters', {}) as IDataObject).parameter as IDataObject[]) ?? [];
				if (rows.length > 0) variables = { body: rows.map((r) => String(r.value ?? '')) };
			}
			const body = compact({
				channel_id: param('channelId') as string,
				recipient: param('recipient') as string,
				template_name: param('templateName') as string,
				language: param('language') as string,
				variables,
			});
			return [await send(ctx, '/messages/send-template', body, extra.idempotencyKey)];
		}
	}

	if (resource === 'channel' && operation === 'getAll') {
		const answer = await switchboardRequest.call(ctx, 'GET', '/channels');
		return (answer.channels as IDataObject[]) ?? [];
	}

	if (resource === 'template' && operation === 'getAll') {
		const channelId = encodeURIComponent(param('channelId') as string);
		const filters = param('filters', {}) as IDataObject;
		const qs: IDataObject = { sync: filters.sync === false ? 'false' : 'true' };
		if (typeof filters.status === 'string' && filters.status !== '') qs.status = filters.status;
		const answer = await switchboardRequest.call(ctx, 'GET', `/channels/${channelId}/templates`, { qs });
		return (answer.templates as IDataObject[]) ?? [];
	}

	if (resource === 'delivery' && operation === 'get') {
		const id = encodeURIComponent(param('deliveryId') as string);
		return [await switchboardRequest.call(ctx, 'GET', `/deliveries/${id}`)];
	}

	throw new NodeOperationError(ctx.getNode(), `Unsupported operation ${resource}: ${operation}`, {
		itemIndex: i,
	});
}

async function send(
	ctx: IExecuteFunctions,
	path: string,
	body: IDataObject,
	idempotencyKey: unknown,
): Promise<IDataObject> {
	return await switchboardRequest.call(ctx, 'POST', path, {
		body,
		headers: idempotencyHeaders(idempotencyKey),
	});
}
