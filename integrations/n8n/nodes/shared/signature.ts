import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/**
 * Which signatures a delivery must carry. Switchboard signs every delivery
 * of a channel or event endpoint with a secret twice: `X-Webhook-Signature`
 * (HMAC of the body) and Standard Webhooks (`webhook-id`, `webhook-timestamp`,
 * `webhook-signature`: HMAC of id, timestamp and body).
 */
export type SignatureCheck = 'both' | 'standard' | 'switchboard';

export type Verdict = { ok: true } | { ok: false; reason: string };

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
	const value = headers[name.toLowerCase()];
	return Array.isArray(value) ? value[0] : value;
}

function equal(a: string, b: string): boolean {
	const x = Buffer.from(a);
	const y = Buffer.from(b);
	return x.length === y.length && timingSafeEqual(x, y);
}

/** `sha256=` + hex HMAC-SHA256 of the raw body. */
export function switchboardSignature(secret: string, body: Buffer): string {
	return 'sha256=' + createHmac('sha256', secret).update(body).digest('hex');
}

/** `v1,` + base64 HMAC-SHA256 of `{id}.{timestamp}.{body}` (Standard Webhooks). */
export function standardSignature(secret: string, id: string, timestamp: string, body: Buffer): string {
	const mac = createHmac('sha256', secret);
	mac.update(`${id}.${timestamp}.`);
	mac.update(body);
	return 'v1,' + mac.digest('base64');
}

function checkSwitchboard(secret: string, headers: IncomingHttpHeaders, body: Buffer): Verdict {
	const given = header(headers, 'x-webhook-signature');
	if (!given) return { ok: false, reason: 'X-Webhook-Signature is missing' };
	return equal(switchboardSignature(secret, body), given.trim())
		? { ok: true }
		: { ok: false, reason: 'X-Webhook-Signature does not match' };
}

function checkStandard(
	secret: string,
	headers: IncomingHttpHeaders,
	body: Buffer,
	toleranceSeconds: number,
	now: number,
): Verdict {
	const id = header(headers, 'webhook-id');
	const timestamp = header(headers, 'webhook-timestamp');
	const signatures = header(headers, 'webhook-signature');
	if (!id || !timestamp || !signatures) {
		return { ok: false, reason: 'webhook-id, webhook-timestamp or webhook-signature is missing' };
	}
	if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: 'webhook-timestamp is not Unix seconds' };
	// Replay protection, as the Standard Webhooks libraries do it.
	if (Math.abs(now - Number(timestamp)) > toleranceSeconds) {
		return { ok: false, reason: 'webhook-timestamp is too old or in the future' };
	}
	const expected = standardSignature(secret, id, timestamp, body);
	// The header may list several space-separated signatures (key rotation).
	const match = signatures.split(' ').some((s) => s.length > 0 && equal(expected, s));
	return match ? { ok: true } : { ok: false, reason: 'webhook-signature does not match' };
}

/** Checks a delivery's raw body and headers against the secret. */
export function verifyDelivery(
	secret: string,
	headers: IncomingHttpHeaders,
	body: Buffer,
	check: SignatureCheck,
	toleranceSeconds = 300,
	now = Math.floor(Date.now() / 1000),
): Verdict {
	if (check === 'switchboard' || check === 'both') {
		const v = checkSwitchboard(secret, headers, body);
		if (!v.ok) return v;
	}
	if (check === 'standard' || check === 'both') {
		const v = checkStandard(secret, headers, body, toleranceSeconds, now);
		if (!v.ok) return v;
	}
	return { ok: true };
}
