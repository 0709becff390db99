import type {
	IDataObject,
	IExecuteFunctions,
	IHookFunctions,
	IHttpRequestMethods,
	IHttpRequestOptions,
	ILoadOptionsFunctions,
	INodePropertyOptions,
	JsonObject,
} from 'n8n-workflow';
import { NodeApiError } from 'n8n-workflow';

type Context = IExecuteFunctions | IHookFunctions | ILoadOptionsFunctions;

export const CREDENTIAL = 'switchboardApi';

/** A Switchboard error body: every error the API answers is `{detail, code}`. */
interface ErrorBody {
	detail?: string;
	code?: string;
}

/** Finds `{detail, code}` in whatever shape the HTTP helper wrapped the error in. */
function errorBody(error: unknown): ErrorBody | undefined {
	const candidates: unknown[] = [];
	const e = error as IDataObject & { cause?: IDataObject; response?: IDataObject; context?: IDataObject };
	// n8n-core's NodeApiError keeps the response body in context.data.
	candidates.push(e?.context?.data, e?.response?.data, e?.response?.body, e?.cause, e?.description);
	const causeResponse = e?.cause?.response as IDataObject | undefined;
	candidates.push(causeResponse?.data, causeResponse?.body);
	for (const c of candidates) {
		let value = c;
		if (typeof value === 'string') {
			try {
				value = JSON.parse(value);
			} catch {
				continue;
			}
		}
		if (value && typeof value === 'object' && typeof (value as ErrorBody).code === 'string') {
			return value as ErrorBody;
		}
	}
	return undefined;
}

/** HTTP status of a failed call, when the server answered at all. */
export function errorStatus(error: unknown): number | undefined {
	const e = error as IDataObject & { cause?: IDataObject; response?: IDataObject };
	const raw =
		e?.httpCode ??
		(e?.response as IDataObject | undefined)?.status ??
		(e?.cause?.response as IDataObject | undefined)?.status ??
		e?.cause?.status;
	const n = Number(raw);
	return Number.isFinite(n) && n > 0 ? n : undefined;
}

/**
 * One call to `/api/v1…` with the credential's key. Errors come back as
 * NodeApiError whose message is Switchboard's `detail` and whose description
 * names its `code`, so a workflow can branch on it.
 */
export async function switchboardRequest(
	this: Context,
	method: IHttpRequestMethods,
	path: string,
	options: { body?: IDataObject; rawBody?: Buffer; qs?: IDataObject; headers?: IDataObject } = {},
): Promise<IDataObject> {
	const credentials = await this.getCredentials(CREDENTIAL);
	const baseUrl = String(credentials.baseUrl ?? '').replace(/\/+$/, '');
	const request: IHttpRequestOptions = {
		method,
		url: `${baseUrl}/api/v1${path}`,
		json: true,
		headers: { Accept: 'application/json', ...(options.headers ?? {}) },
	};
	if (options.body !== undefined) request.body = options.body;
	if (options.rawBody !== undefined) request.body = options.rawBody;
	if (options.qs !== undefined) request.qs = options.qs;
	try {
		return (await this.helpers.httpRequestWithAuthentication.call(
			this,
			CREDENTIAL,
			request,
		)) as IDataObject;
	} catch (error) {
		const body = errorBody(error);
		const httpCode = errorStatus(error);
		throw new NodeApiError(this.getNode(), (body ?? { message: String((error as Error).message) }) as JsonObject, {
			message: body?.detail ?? (error as Error).message,
			description: body?.code ? `Switchboard error code: ${body.code}` : undefined,
			httpCode: httpCode !== undefined ? String(httpCode) : undefined,
		});
	}
}

/** The account's channels as dropdown options ("Acme Support (whatsapp)"). */
export async function channelOptions(this: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
	const answer = await switchboardRequest.call(this, 'GET', '/channels');
	const channels = (answer.channels as IDataObject[] | undefined) ?? [];
	return channels
		.filter((c) => c.is_active !== false)
		.map((c) => {
			const label = (c.name as string) || (c.phone_number as string) || (c.id as string);
			return {
				name: `${label} (${c.channel_type as string})`,
				value: c.id as string,
				description: `Channel ${c.id as string}`,
			};
		});
}
