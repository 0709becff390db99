import { randomBytes } from 'node:crypto';

import type {
	IDataObject,
	IHookFunctions,
	ILoadOptionsFunctions,
	INodePropertyOptions,
	INodeType,
	INodeTypeDescription,
	IWebhookFunctions,
	IWebhookResponseData,
} from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { type SignatureCheck, verifyDelivery } from '../shared/signature';
import { channelOptions, errorStatus, switchboardRequest } from '../shared/transport';

/**
 * What the trigger remembers between activation, deliveries and
 * deactivation (the workflow's static data, saved by n8n).
 */
interface Registration {
	/** `channel`: the channel's webhook; `account`: an event endpoint. */
	source?: string;
	channelId?: string;
	endpointId?: string;
	/** The signing secret; Switchboard shows it only once. */
	secret?: string;
	url?: string;
}

function forget(reg: Registration): void {
	delete reg.source;
	delete reg.channelId;
	delete reg.endpointId;
	delete reg.secret;
	delete reg.url;
}

/** A 64-hex secret, like the ones Switchboard generates itself. */
function newSecret(): string {
	return randomBytes(32).toString('hex');
}

export class SwitchboardTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Switchboard Trigger',
		name: 'switchboardTrigger',
		icon: 'file:switchboard.svg',
		group: ['trigger'],
		version: 1,
		subtitle: '={{$parameter["source"] === "account" ? "account events" : "channel events"}}',
		description: 'Starts the workflow on Switchboard events: received messages, statuses, account news',
		defaults: {
			name: 'Switchboard Trigger',
		},
		inputs: [],
		outputs: ['main'],
		credentials: [
			{
				name: 'switchboardApi',
				required: true,
			},
		],
		webhooks: [
			{
				name: 'default',
				httpMethod: 'POST',
				responseMode: 'onReceived',
				path: 'webhook',
			},
		],
		properties: [
			{
				displayName: 'Source',
				name: 'source',
				type: 'options',
				noDataExpression: true,
				options: [
					{
						name: 'Channel',
						value: 'channel',
						description: 'Messages and statuses of one channel (becomes its webhook URL)',
					},
					{
						name: 'Account',
						value: 'account',
						description: 'Account news: channels connected or disconnected, templates reviewed, deliveries given up',
					},
				],
				default: 'channel',
			},
			{
				displayName: 'Channel Name or ID',
				name: 'channelId',
				type: 'options',
				typeOptions: { loadOptionsMethod: 'getChannels' },
				required: true,
				default: '',
				description:
					'A channel has one webhook URL: this trigger takes it while the workflow is active. Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>.',
				displayOptions: { show: { source: ['channel'] } },
			},
			{
				displayName: 'Events',
				name: 'channelEvents',
				type: 'multiOptions',
				required: true,
				options: [
					{ name: 'Message Delivered', value: 'message.delivered' },
					{ name: 'Message Echo', value: 'message.echo', description: 'Sent by the business from another app' },
					{ name: 'Message Failed', value: 'message.failed' },
					{ name: 'Message Read', value: 'message.read' },
					{ name: 'Message Received', value: 'message.received' },
					{ name: 'Message Sent', value: 'message.sent', description: 'WhatsApp only' },
				],
				default: ['message.received'],
				displayOptions: { show: { source: ['channel'] } },
			},
			{
				displayName: 'Events',
				name: 'accountEvents',
				type: 'multiOptions',
				required: true,
				options: [
					{ name: 'Channel Connected', value: 'channel.connected' },
					{ name: 'Channel Disconnected', value: 'channel.disconnected' },
					{ name: 'Channel Token Expiring', value: 'channel.token_expiring' },
					{ name: 'Delivery Exhausted', value: 'delivery.exhausted' },
					{ name: 'Phone Number Connected', value: 'phone_number.connected' },
					{ name: 'Template Status Updated', value: 'template.status_updated' },
				],
				default: ['channel.disconnected'],
				displayOptions: { show: { source: ['account'] } },
			},
			{
				displayName: 'Options',
				name: 'options',
				type: 'collection',
				placeholder: 'Add Option',
				default: {},
				options: [
					{
						displayName: 'Replace Existing Webhook',
						name: 'replaceExisting',
						type: 'boolean',
						default: false,
						description:
							'Whether to take over a channel whose webhook URL points elsewhere (the other receiver stops getting events)',
					},
					{
						displayName: 'Retry Policy',
						name: 'retryPolicy',
						type: 'options',
						options: [
							{ name: 'Standard (20 Minutes)', value: 'standard' },
							{ name: 'Extended (24 Hours)', value: 'extended' },
						],
						default: 'standard',
						description: 'How long Switchboard retries a delivery this workflow did not accept (account events)',
					},
					{
						displayName: 'Signature Check',
						name: 'signatureCheck',
						type: 'options',
						options: [
							{
								name: 'Both',
								value: 'both',
								description: 'X-Webhook-Signature and the Standard Webhooks headers must match',
							},
							{
								name: 'Standard Webhooks Only',
								value: 'standard',
								description: 'Webhook-ID, webhook-timestamp, webhook-signature',
							},
							{
								name: 'X-Webhook-Signature Only',
								value: 'switchboard',
								description: 'Switchboard\'s HMAC of the body (no timestamp)',
							},
						],
						default: 'both',
					},
					{
						displayName: 'Timestamp Tolerance (Seconds)',
						name: 'toleranceSeconds',
						type: 'number',
						typeOptions: { minValue: 1 },
						default: 300,
						description: 'Refuse Standard Webhooks deliveries signed longer ago than this (replay protection)',
					},
				],
			},
		],
	};

	methods = {
		loadOptions: {
			async getChannels(this: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
				return await channelOptions.call(this);
			},
		},
	};

	webhookMethods = {
		default: {
			async checkExists(this: IHookFunctions): Promise<boolean> {
				const reg = this.getWorkflowStaticData('node') as Registration;
				const url = this.getNodeWebhookUrl('default');
				const source = this.getNodeParameter('source') as string;
				if (!reg.secret || reg.source !== source || reg.url !== url) return false;
				if (source === 'channel') {
					const channelId = this.getNodeParameter('channelId') as string;
					if (reg.channelId !== channelId) return false;
					const channel = await switchboardRequest.call(this, 'GET', `/channels/${encodeURIComponent(channelId)}`);
					return channel.webhook_url === url && channel.has_webhook_secret === true;
				}
				if (!reg.endpointId) return false;
				try {
					const endpoint = await switchboardRequest.call(
						this,
						'GET',
						`/event-endpoints/${encodeURIComponent(reg.endpointId)}`,
					);
					return endpoint.url === url;
				} catch (error) {
					if (errorStatus(error) === 404) return false;
					throw error;
				}
			},

			async create(this: IHookFunctions): Promise<boolean> {
				const reg = this.getWorkflowStaticData('node') as Registration;
				const url = this.getNodeWebhookUrl('default') as string;
				const source = this.getNodeParameter('source') as string;
				const options = this.getNodeParameter('options', {}) as IDataObject;

				if (source === 'channel') {
					const channelId = this.getNodeParameter('channelId') as string;
					const path = `/channels/${encodeURIComponent(channelId)}`;
					const channel = await switchboardRequest.call(this, 'GET', path);
					const current = channel.webhook_url as string | null;
					if (current && current !== url && options.replaceExisting !== true) {
						throw new NodeOperationError(
							this.getNode(),
							`Channel ${channelId} already delivers its events to ${current}`,
							{
								description:
									'Turn on "Replace Existing Webhook" in the options to take it over, or clear the URL in the Portal first.',
							},
						);
					}
					// Our own secret: Switchboard stores it and signs with it; we keep it
					// to verify (it is never readable again through the API).
					const secret = newSecret();
					await switchboardRequest.call(this, 'PATCH', path, {
						body: {
							webhook_url: url,
							webhook_events: this.getNodeParameter('channelEvents') as string[],
							webhook_secret: secret,
						},
					});
					forget(reg);
					Object.assign(reg, { source, channelId, secret, url });
					return true;
				}

				const endpoint = await switchboardRequest.call(this, 'POST', '/event-endpoints', {
					body: {
						url,
						events: this.getNodeParameter('accountEvents') as string[],
						retry_policy: (options.retryPolicy as string) || 'standard',
					},
				});
				forget(reg);
				Object.assign(reg, {
					source,
					endpointId: endpoint.id as string,
					secret: endpoint.secret as string,
					url,
				});
				return true;
			},

			async delete(this: IHookFunctions): Promise<boolean> {
				const reg = this.getWorkflowStaticData('node') as Registration;
				try {
					if (reg.source === 'channel' && reg.channelId) {
						const path = `/channels/${encodeURIComponent(reg.channelId)}`;
						const channel = await switchboardRequest.call(this, 'GET', path);
						// Only our own registration is removed: someone may have pointed
						// the channel elsewhere since.
						if (channel.webhook_url === reg.url) {
							await switchboardRequest.call(this, 'PATCH', path, { body: { webhook_url: null } });
						}
					} else if (reg.source === 'account' && reg.endpointId) {
						await switchboardRequest.call(
							this,
							'DELETE',
							`/event-endpoints/${encodeURIComponent(reg.endpointId)}`,
						);
					}
				} catch (error) {
					// Already gone (channel or endpoint deleted) is what we wanted.
					if (errorStatus(error) !== 404) return false;
				}
				forget(reg);
				return true;
			},
		},
	};

	async webhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
		const reg = this.getWorkflowStaticData('node') as Registration;
		const req = this.getRequestObject();
		const res = this.getResponseObject();
		const options = this.getNodeParameter('options', {}) as IDataObject;
		const check = ((options.signatureCheck as string) || 'both') as SignatureCheck;
		const tolerance = Number(options.toleranceSeconds ?? 300);

		// Signatures are over the exact bytes Switchboard sent, which n8n's
		// webhook server keeps as rawBody next to the parsed JSON.
		const raw = (req as unknown as { rawBody?: Buffer }).rawBody;
		const refuse = (detail: string) => {
			res.status(401).json({ detail, code: 'invalid_signature' });
			return { noWebhookResponse: true };
		};
		if (!reg.secret) return refuse('This trigger is not registered with Switchboard; activate the workflow again');
		if (!Buffer.isBuffer(raw)) return refuse('The raw request body is not available to verify');
		const verdict = verifyDelivery(reg.secret, req.headers, raw, check, tolerance);
		if (!verdict.ok) return refuse(verdict.reason);

		const event = this.getBodyData();
		return { workflowData: [this.helpers.returnJsonArray(event)] };
	}
}
