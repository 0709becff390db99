import type { INodeProperties } from 'n8n-workflow';

const sends = ['sendText', 'sendTemplate', 'sendMedia'];

const idempotencyKey: INodeProperties = {
	displayName: 'Idempotency Key',
	name: 'idempotencyKey',
	type: 'string',
	default: '',
	description:
		'Any unique string (for example an order ID): the same key with the same message within 24 hours returns the first answer and sends nothing again',
};

const replyTo: INodeProperties = {
	displayName: 'Reply To Message ID',
	name: 'replyTo',
	type: 'string',
	default: '',
	description: 'Quote a message: a Switchboard message ID or Meta\'s ID (data.message_id of a received message)',
};

/** Operations and fields of the Message resource. */
export const messageFields: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['message'] } },
		options: [
			{
				name: 'Mark Read',
				value: 'markRead',
				description: 'Mark a received message as read (blue ticks), optionally showing the typing indicator',
				action: 'Mark a message as read',
			},
			{
				name: 'Reply',
				value: 'reply',
				description: 'Answer a received message on its channel, quoting it',
				action: 'Reply to a message',
			},
			{
				name: 'Send Media',
				value: 'sendMedia',
				description: 'Send an image, video, audio file, document or sticker',
				action: 'Send media',
			},
			{
				name: 'Send Template',
				value: 'sendTemplate',
				description: 'Send an approved WhatsApp template (works outside the 24-hour window)',
				action: 'Send a template',
			},
			{
				name: 'Send Text',
				value: 'sendText',
				description: 'Send a text message',
				action: 'Send a text message',
			},
		],
		default: 'sendText',
	},
	{
		displayName: 'Channel Name or ID',
		name: 'channelId',
		type: 'options',
		typeOptions: { loadOptionsMethod: 'getChannels' },
		required: true,
		default: '',
		description:
			'The channel to send from. Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>.',
		displayOptions: { show: { resource: ['message'], operation: sends } },
	},
	{
		displayName: 'Recipient',
		name: 'recipient',
		type: 'string',
		required: true,
		default: '',
		placeholder: '15550100001',
		description:
			'WhatsApp: phone digits without + (or a business-scoped user ID); Instagram: the IGSID; Facebook: the PSID',
		displayOptions: { show: { resource: ['message'], operation: sends } },
	},
	// Reply: by default everything comes from the trigger's message.received event.
	{
		displayName: 'Channel ID',
		name: 'replyChannelId',
		type: 'string',
		required: true,
		default: '={{ $json.channel_id }}',
		description: 'The channel the message arrived on',
		displayOptions: { show: { resource: ['message'], operation: ['reply'] } },
	},
	{
		displayName: 'Recipient',
		name: 'replyRecipient',
		type: 'string',
		required: true,
		default: '={{ $json.data.from }}',
		description: 'Who wrote (data.from of the event)',
		displayOptions: { show: { resource: ['message'], operation: ['reply'] } },
	},
	{
		displayName: 'Message ID to Quote',
		name: 'replyToMessageId',
		type: 'string',
		required: true,
		default: '={{ $json.data.message_id }}',
		description: 'The received message to quote (data.message_id of the event)',
		displayOptions: { show: { resource: ['message'], operation: ['reply'] } },
	},
	// Mark Read: by default the message is the trigger's message.received event.
	{
		displayName: 'Channel ID',
		name: 'readChannelId',
		type: 'string',
		required: true,
		default: '={{ $json.channel_id }}',
		description: 'The channel the message arrived on',
		displayOptions: { show: { resource: ['message'], operation: ['markRead'] } },
	},
	{
		displayName: 'Message ID',
		name: 'readMessageId',
		type: 'string',
		required: true,
		default: '={{ $json.data.message_id }}',
		description:
			'Meta\'s ID of the received message (data.message_id of the event); on WhatsApp every earlier message is marked read too',
		displayOptions: { show: { resource: ['message'], operation: ['markRead'] } },
	},
	{
		displayName: 'Show Typing Indicator',
		name: 'typing',
		type: 'boolean',
		default: false,
		description:
			'Whether the person also sees that you are typing (WhatsApp: until your reply arrives or about 25 seconds pass)',
		displayOptions: { show: { resource: ['message'], operation: ['markRead'] } },
	},
	{
		displayName: 'Text',
		name: 'text',
		type: 'string',
		typeOptions: { rows: 4 },
		required: true,
		default: '',
		description: 'Up to 4096 characters on WhatsApp, 2000 on Messenger, 1000 bytes on Instagram',
		displayOptions: { show: { resource: ['message'], operation: ['sendText', 'reply'] } },
	},
	// Template
	{
		displayName: 'Template Name',
		name: 'templateName',
		type: 'string',
		required: true,
		default: '',
		placeholder: 'order_update',
		displayOptions: { show: { resource: ['message'], operation: ['sendTemplate'] } },
	},
	{
		displayName: 'Language',
		name: 'language',
		type: 'string',
		required: true,
		default: 'en_US',
		description: 'The template\'s language code',
		displayOptions: { show: { resource: ['message'], operation: ['sendTemplate'] } },
	},
	{
		displayName: 'Body Parameters',
		name: 'bodyParameters',
		type: 'fixedCollection',
		typeOptions: { multipleValues: true },
		placeholder: 'Add Parameter',
		default: {},
		description: 'Values for {{1}}, {{2}} … of the template body, in order',
		displayOptions: { show: { resource: ['message'], operation: ['sendTemplate'] } },
		options: [
			{
				displayName: 'Parameter',
				name: 'parameter',
				values: [
					{
						displayName: 'Value',
						name: 'value',
						type: 'string',
						default: '',
					},
				],
			},
		],
	},
	// Media
	{
		displayName: 'Media Type',
		name: 'mediaType',
		type: 'options',
		options: [
			{ name: 'Audio', value: 'audio' },
			{ name: 'Document', value: 'document' },
			{ name: 'Image', value: 'image' },
			{ name: 'Sticker', value: 'sticker' },
			{ name: 'Video', value: 'video' },
		],
		default: 'image',
		displayOptions: { show: { resource: ['message'], operation: ['sendMedia'] } },
	},
	{
		displayName: 'Media Source',
		name: 'mediaSource',
		type: 'options',
		options: [
			{
				name: 'Binary File',
				value: 'binary',
				description: 'Upload a file of the input item to Switchboard first',
			},
			{
				name: 'Link',
				value: 'link',
				description: 'A public https URL that Meta fetches',
			},
			{
				name: 'Media ID',
				value: 'mediaId',
				description: 'The ID of a file uploaded to Switchboard before (POST /api/v1/media)',
			},
		],
		default: 'link',
		displayOptions: { show: { resource: ['message'], operation: ['sendMedia'] } },
	},
	{
		displayName: 'Link',
		name: 'mediaLink',
		type: 'string',
		required: true,
		default: '',
		placeholder: 'https://files.example.com/invoice.pdf',
		displayOptions: { show: { resource: ['message'], operation: ['sendMedia'], mediaSource: ['link'] } },
	},
	{
		displayName: 'Media ID',
		name: 'mediaId',
		type: 'string',
		required: true,
		default: '',
		displayOptions: { show: { resource: ['message'], operation: ['sendMedia'], mediaSource: ['mediaId'] } },
	},
	{
		displayName: 'Input Binary Field',
		name: 'binaryPropertyName',
		type: 'string',
		required: true,
		default: 'data',
		hint: 'The name of the input binary field containing the file to be sent',
		displayOptions: { show: { resource: ['message'], operation: ['sendMedia'], mediaSource: ['binary'] } },
	},
	// Optional fields of each send
	{
		displayName: 'Additional Fields',
		name: 'additionalFields',
		type: 'collection',
		placeholder: 'Add Field',
		default: {},
		displayOptions: { show: { resource: ['message'], operation: ['sendText'] } },
		options: [idempotencyKey, replyTo],
	},
	{
		displayName: 'Additional Fields',
		name: 'additionalFields',
		type: 'collection',
		placeholder: 'Add Field',
		default: {},
		displayOptions: { show: { resource: ['message'], operation: ['reply'] } },
		options: [idempotencyKey],
	},
	{
		displayName: 'Additional Fields',
		name: 'additionalFields',
		type: 'collection',
		placeholder: 'Add Field',
		default: {},
		displayOptions: { show: { resource: ['message'], operation: ['sendMedia'] } },
		options: [
			{
				displayName: 'Caption',
				name: 'caption',
				type: 'string',
				default: '',
				description: 'Image, video and document on WhatsApp; up to 1024 characters',
			},
			{
				displayName: 'File Name',
				name: 'filename',
				type: 'string',
				default: '',
				description: 'Documents only: the name the recipient sees',
			},
			idempotencyKey,
			replyTo,
		],
	},
	{
		displayName: 'Additional Fields',
		name: 'additionalFields',
		type: 'collection',
		placeholder: 'Add Field',
		default: {},
		displayOptions: { show: { resource: ['message'], operation: ['sendTemplate'] } },
		options: [
			idempotencyKey,
			{
				displayName: 'Variables (JSON)',
				name: 'variablesJson',
				type: 'json',
				default: '{}',
				description:
					'The whole variables object, replacing Body Parameters: {"header": …, "body": […] or {name: value}, "buttons": [{"index": 0, "value": "…"}]}',
			},
		],
	},
];

/** Operations and fields of the Channel, Template and Delivery resources. */
export const otherFields: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['channel'] } },
		options: [
			{
				name: 'Get Many',
				value: 'getAll',
				description: 'List the account\'s channels',
				action: 'Get many channels',
			},
		],
		default: 'getAll',
	},
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['template'] } },
		options: [
			{
				name: 'Get Many',
				value: 'getAll',
				description: 'List a WhatsApp channel\'s message templates',
				action: 'Get many templates',
			},
		],
		default: 'getAll',
	},
	{
		displayName: 'Channel Name or ID',
		name: 'channelId',
		type: 'options',
		typeOptions: { loadOptionsMethod: 'getChannels' },
		required: true,
		default: '',
		description:
			'A WhatsApp channel; its WABA\'s templates are listed. Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>.',
		displayOptions: { show: { resource: ['template'], operation: ['getAll'] } },
	},
	{
		displayName: 'Filters',
		name: 'filters',
		type: 'collection',
		placeholder: 'Add Filter',
		default: {},
		displayOptions: { show: { resource: ['template'], operation: ['getAll'] } },
		options: [
			{
				displayName: 'Status',
				name: 'status',
				type: 'options',
				options: [
					{ name: 'Any', value: '' },
					{ name: 'Approved', value: 'APPROVED' },
					{ name: 'Paused', value: 'PAUSED' },
					{ name: 'Pending', value: 'PENDING' },
					{ name: 'Rejected', value: 'REJECTED' },
				],
				default: '',
			},
			{
				displayName: 'Sync From Meta',
				name: 'sync',
				type: 'boolean',
				default: true,
				description: 'Whether to read every template from Meta first (otherwise the local copy answers)',
			},
		],
	},
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['delivery'] } },
		options: [
			{
				name: 'Get',
				value: 'get',
				description: 'Look up one webhook delivery with its attempts and payload',
				action: 'Get a delivery',
			},
		],
		default: 'get',
	},
	{
		displayName: 'Delivery ID',
		name: 'deliveryId',
		type: 'string',
		required: true,
		default: '',
		displayOptions: { show: { resource: ['delivery'], operation: ['get'] } },
	},
];
