import type {
	IAuthenticateGeneric,
	ICredentialTestRequest,
	ICredentialType,
	INodeProperties,
} from 'n8n-workflow';

/** An API key of one Switchboard account, sent as `X-API-Key` on every call. */
export class SwitchboardApi implements ICredentialType {
	name = 'switchboardApi';

	displayName = 'Switchboard API';

	documentationUrl = 'https://www.npmjs.com/package/n8n-nodes-switchboard';

	icon = 'file:switchboard.svg' as const;

	properties: INodeProperties[] = [
		{
			displayName: 'Base URL',
			name: 'baseUrl',
			type: 'string',
			default: '',
			placeholder: 'https://switchboard.example.com',
			description: 'Where your Switchboard installation answers, without /api/v1',
			required: true,
		},
		{
			displayName: 'API Key',
			name: 'apiKey',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description: 'A key from the Portal (API keys) or from switchboard admin create-user --with-key',
			required: true,
		},
	];

	authenticate: IAuthenticateGeneric = {
		type: 'generic',
		properties: {
			headers: {
				'X-API-Key': '={{$credentials.apiKey}}',
			},
		},
	};

	// The cheapest authenticated read: the key's own account.
	test: ICredentialTestRequest = {
		request: {
			baseURL: '={{$credentials.baseUrl.replace(/\\/+$/, "")}}',
			url: '/api/v1/account',
		},
	};
}
