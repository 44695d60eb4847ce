import { createHash, timingSafeEqual } from 'node:crypto';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { now as clockNow } from '../../clock.js';

/**
 * Signature Version 4 as API Gateway checks it for an IAM-authorized REST API: the same refusals,
 * in API Gateway's words, so a client that works here meets the same answers once deployed. The
 * signature is recomputed with the AWS SDK's own signer over exactly the headers the request says
 * it signed, then compared in constant time.
 */

export interface SigV4Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface SignedRequest {
  method: string;
  /** The path as sent, without the query string. */
  path: string;
  query: Record<string, string | string[]>;
  /** Header names in lower case. */
  headers: Record<string, string>;
  body: Buffer;
}

export interface CallerIdentity {
  accessKey: string;
  /** The account the signing key belongs to. */
  accountId: string;
  caller: string;
  user: string;
  userArn: string;
}

export type SigV4Outcome =
  | { ok: true; identity: CallerIdentity }
  | { ok: false; statusCode: 403; message: string; errorType: string };

/** API Gateway's answer to a request with no Authorization header (and to a path it does not know). */
export const MISSING_TOKEN = 'Missing Authentication Token';

/** API Gateway accepts a signature made at most this far from its own clock, either way. */
const CLOCK_SKEW_MS = 5 * 60 * 1000;

const SIGNATURE_MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

/** API Gateway's `x-amzn-ErrorType` for each kind of refusal. */
const ERROR_TYPES = {
  missing: 'MissingAuthenticationTokenException',
  incomplete: 'IncompleteSignatureException',
  invalidToken: 'UnrecognizedClientException',
  signature: 'InvalidSignatureException',
} as const;

const refuse = (message: string, kind: keyof typeof ERROR_TYPES = 'incomplete'): SigV4Outcome => ({
  ok: false,
  statusCode: 403,
  message,
  errorType: ERROR_TYPES[kind],
});

interface AuthorizationParts {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

/** Splits `AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`; says what is missing, as API Gateway does. */
function parseAuthorization(header: string): AuthorizationParts | string {
  const [algorithm, ...rest] = header.trim().split(/\s+/);
  if (algorithm !== 'AWS4-HMAC-SHA256')
    return `Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization=${header.slice(0, 100)}`;
  const fields = new Map<string, string>();
  for (const part of rest.join(' ').split(',')) {
    const at = part.indexOf('=');
    if (at > 0) fields.set(part.slice(0, at).trim(), part.slice(at + 1).trim());
  }
  const missing = ['Credential', 'Signature', 'SignedHeaders'].filter((name) => !fields.get(name));
  if (missing.length > 0)
    return missing
      .map((name) => `Authorization header requires '${name}' parameter.`)
      .join(' ')
      .concat(` Authorization=${header.slice(0, 100)}`);
  const scope = fields.get('Credential')!.split('/');
  if (scope.length !== 5 || scope[4] !== 'aws4_request')
    return `Credential should be scoped to a valid region, not '${scope[2] ?? ''}'. Credential should be scoped to correct service: 'execute-api'. Credential should be scoped with a valid terminator: 'aws4_request', not '${scope[4] ?? ''}'.`;
  return {
    accessKeyId: scope[0]!,
    date: scope[1]!,
    region: scope[2]!,
    service: scope[3]!,
    signedHeaders: fields.get('SignedHeaders')!.split(';'),
    signature: fields.get('Signature')!,
  };
}

/** `20261204T031500Z` as a Date, or undefined. */
function parseAmzDate(text: string | undefined): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text ?? '');
  if (!m) return undefined;
  return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
}

const amzDate = (date: Date) =>
  date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');

/**
 * Checks the request's SigV4 signature for `execute-api` in `region` against the one key pair
 * the local backend knows (`kopsless local env`). Only the Authorization header form is taken,
 * as API Gateway's IAM authorization takes it; presigned query strings are refused.
 */
export async function verifySigV4(
  request: SignedRequest,
  expected: { credentials: SigV4Credentials; region: string; accountId: string },
): Promise<SigV4Outcome> {
  const now = clockNow();
  const authorization = request.headers.authorization;
  if (!authorization) return refuse(MISSING_TOKEN, 'missing');
  const parts = parseAuthorization(authorization);
  if (typeof parts === 'string') return refuse(parts);
  if (parts.service !== 'execute-api')
    return refuse(
      `Credential should be scoped to correct service: 'execute-api'. (${parts.service})`,
    );
  if (parts.region !== expected.region)
    return refuse(
      `Credential should be scoped to a valid region, not '${parts.region}'. (expected ${expected.region})`,
    );
  if (parts.accessKeyId !== expected.credentials.accessKeyId)
    return refuse('The security token included in the request is invalid.', 'invalidToken');
  const signedAt = parseAmzDate(request.headers['x-amz-date']);
  if (!signedAt)
    return refuse(
      "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
    );
  if (parts.date !== amzDate(signedAt).slice(0, 8))
    return refuse(
      `Credential should be scoped to a valid date: '${amzDate(signedAt).slice(0, 8)}', not '${parts.date}'.`,
    );
  if (Math.abs(now.getTime() - signedAt.getTime()) > CLOCK_SKEW_MS) {
    const early = new Date(now.getTime() - CLOCK_SKEW_MS);
    return refuse(
      `Signature expired: ${amzDate(signedAt)} is now earlier than ${amzDate(early)} (${amzDate(now)} - 5 min.)`,
      'signature',
    );
  }
  if (!parts.signedHeaders.includes('host'))
    return refuse(`'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.`);
  const headers: Record<string, string> = {};
  for (const name of parts.signedHeaders) {
    const value = request.headers[name];
    if (value === undefined) return refuse(SIGNATURE_MISMATCH, 'signature');
    headers[name] = value;
  }
  // A signer that sent x-amz-content-sha256 signed that value, not the body: hold it to the body.
  const declaredHash = headers['x-amz-content-sha256'];
  if (
    declaredHash !== undefined &&
    declaredHash !== createHash('sha256').update(request.body).digest('hex')
  )
    return refuse(SIGNATURE_MISMATCH, 'signature');
  const signer = new SignatureV4({
    credentials: expected.credentials,
    region: parts.region,
    service: 'execute-api',
    sha256: Hash.bind(null, 'sha256'),
    // The signer would add x-amz-content-sha256 of its own; only what the client signed counts.
    applyChecksum: false,
  });
  const signed = await signer.sign(
    {
      method: request.method,
      protocol: 'http:',
      hostname: headers.host!.replace(/:\d+$/, ''),
      path: request.path,
      query: request.query,
      headers,
      body: request.body.length > 0 ? request.body : undefined,
    },
    // The signer adds what it must sign itself (x-amz-date, host); keep those it was sent.
    // Exactly the headers the client signed, even those the SDK's signer would skip (user-agent).
    {
      signingDate: signedAt,
      unsignableHeaders: new Set(),
      signableHeaders: new Set(parts.signedHeaders),
    },
  );
  const recomputed = /Signature=([0-9a-f]{64})/.exec(String(signed.headers.authorization))?.[1];
  const given = Buffer.from(parts.signature);
  if (
    !recomputed ||
    given.length !== recomputed.length ||
    !timingSafeEqual(given, Buffer.from(recomputed))
  )
    return refuse(SIGNATURE_MISMATCH, 'signature');
  return {
    ok: true,
    identity: {
      accessKey: parts.accessKeyId,
      accountId: expected.accountId,
      caller: parts.accessKeyId,
      user: parts.accessKeyId,
      userArn: `arn:aws:iam::${expected.accountId}:user/${parts.accessKeyId}`,
    },
  };
}
