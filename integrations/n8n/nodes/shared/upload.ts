import { randomBytes } from 'node:crypto';

import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';

import { switchboardRequest } from './transport';

/** Quotes a value for a multipart header (no CR, LF or double quote survives). */
function quoted(value: string): string {
	return '"' + value.replace(/[\r\n"]/g, '_') + '"';
}

/**
 * Uploads an item's binary property with `POST /api/v1/media`
 * (`multipart/form-data`: `file`, and `type` for the limits of the kind it is
 * sent as) and returns Switchboard's answer `{id, mime_type, size, sha256}`.
 * The body is assembled here so the package needs no runtime dependency.
 */
export async function uploadBinary(
	ctx: IExecuteFunctions,
	itemIndex: number,
	propertyName: string,
	kind: string,
): Promise<IDataObject> {
	const binary = ctx.helpers.assertBinaryData(itemIndex, propertyName);
	const bytes = await ctx.helpers.getBinaryDataBuffer(itemIndex, propertyName);
	const boundary = '----switchboard' + randomBytes(12).toString('hex');
	const fileName = binary.fileName ?? 'file';
	const mimeType = binary.mimeType || 'application/octet-stream';
	const body = Buffer.concat([
		Buffer.from(
			`--${boundary}\r\nContent-Disposition: form-data; name="type"\r\n\r\n${kind}\r\n` +
				`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename=${quoted(fileName)}\r\n` +
				`Content-Type: ${mimeType.replace(/[\r\n]/g, '')}\r\n\r\n`,
		),
		bytes,
		Buffer.from(`\r\n--${boundary}--\r\n`),
	]);
	return await switchboardRequest.call(ctx, 'POST', '/media', {
		rawBody: body,
		headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}` },
	});
}
