import { shellQuote } from './shell.js';

/**
 * How a boot script calls AWS without the AWS CLI, so that nothing has to be downloaded and
 * installed unchecked: curl signs each request itself (`--aws-sigv4`) with the instance role's
 * credentials, which it reads from IMDSv2. S3 requests carry `x-amz-content-sha256:
 * UNSIGNED-PAYLOAD`, which curl has used as the payload hash since 7.87 (Ubuntu 24.04, kopsless's
 * default image, ships curl 8.5; Amazon Linux 2023 ships 8.x); the script refuses an older curl
 * before its first request. SSE-KMS objects need SigV4, which this is. The credentials reach
 * curl through a config file on a pipe (`-K <(...)`), never its command line, so no other
 * process on the instance sees them.
 */

/** The lowest curl that signs an S3 request with the payload hash the request names. */
export const MIN_CURL_VERSION = { major: 7, minor: 87 } as const;

/** The EC2 Query API version the boot script speaks. */
export const EC2_API_VERSION = '2016-11-15';

/** The domain of a region's endpoints (China's partition has its own). */
function endpointSuffix(region: string): string {
  return region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
}

/**
 * The state bucket's regional URL: virtual-hosted, or path-style for a name with dots (a dotted
 * name does not match S3's wildcard certificate as a host name).
 */
export function stateBucketUrl(bucket: string, region: string): string {
  const host = `s3.${region}.${endpointSuffix(region)}`;
  return bucket.includes('.') ? `https://${host}/${bucket}` : `https://${bucket}.${host}`;
}

/** The region's EC2 endpoint. */
export function ec2Url(region: string): string {
  return `https://ec2.${region}.${endpointSuffix(region)}/`;
}

/**
 * The EC2 Query API parameters of a filter list and a tag specification, as `NAME=VALUE` words
 * of a bash array: every value is data, quoted, whatever it holds.
 */
export function queryParameters(
  filters: Array<{ name: string; values: string[] }>,
  tags?: { resourceType: string; tags: Array<{ Key: string; Value: string }> },
): string[] {
  const words: string[] = [];
  filters.forEach((filter, i) => {
    words.push(`Filter.${i + 1}.Name=${filter.name}`);
    filter.values.forEach((value, j) => words.push(`Filter.${i + 1}.Value.${j + 1}=${value}`));
  });
  if (tags) {
    words.push(`TagSpecification.1.ResourceType=${tags.resourceType}`);
    tags.tags.forEach((tag, i) => {
      words.push(`TagSpecification.1.Tag.${i + 1}.Key=${tag.Key}`);
      words.push(`TagSpecification.1.Tag.${i + 1}.Value=${tag.Value}`);
    });
  }
  return words.map((word) => shellQuote(word));
}

/**
 * The bash functions every Kubernetes instance's boot script gets (after `imds`):
 * `require_curl_sigv4`, `aws_request SERVICE URL [CURL OPTION...]`, `s3_request URL [...]`,
 * `ec2_request ACTION [NAME=VALUE...]` and `xml_value TAG`.
 */
export function awsRequestSteps(region: string): string[] {
  return [
    `readonly EC2_URL=${shellQuote(ec2Url(region))}`,
    '',
    '# curl signs the AWS requests itself (--aws-sigv4): no AWS CLI is downloaded.',
    'require_curl_sigv4() {',
    '  local version major minor',
    '  read -r _ version _ < <(curl --version)',
    '  major="${version%%.*}"',
    '  minor="${version#*.}"',
    '  minor="${minor%%.*}"',
    `  if ((major < ${MIN_CURL_VERSION.major} || (major == ${MIN_CURL_VERSION.major} && minor < ${MIN_CURL_VERSION.minor}))); then`,
    `    log "curl \${version} cannot sign S3 requests: ${MIN_CURL_VERSION.major}.${MIN_CURL_VERSION.minor} or later is needed"`,
    '    exit 1',
    '  fi',
    '}',
    '',
    '# A curl config holding the instance role credentials: read through a pipe, never on a command line.',
    'instance_credentials() {',
    '  local role',
    '  role="$(imds iam/security-credentials/)"',
    '  imds "iam/security-credentials/${role}" |',
    '    python3 -c \'import json, sys; c = json.load(sys.stdin); print("user = " + json.dumps(c["AccessKeyId"] + ":" + c["SecretAccessKey"])); print("header = " + json.dumps("x-amz-security-token: " + c["Token"]))\'',
    '}',
    '',
    'aws_request() {',
    '  local service="$1" url="$2"',
    '  shift 2',
    '  curl -fsS --retry 5 --aws-sigv4 "aws:amz:${AWS_REGION}:${service}" -K <(instance_credentials) "$@" "${url}"',
    '}',
    '',
    's3_request() {',
    '  local url="$1"',
    '  shift',
    '  aws_request s3 "${url}" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@"',
    '}',
    '',
    "# One EC2 Query API call, its parameters form-encoded (curl signs the body's hash); prints the XML answer.",
    'ec2_request() {',
    '  local parameter options=()',
    `  for parameter in "Action=$1" "Version=${EC2_API_VERSION}" "\${@:2}"; do`,
    '    options+=(--data-urlencode "${parameter}")',
    '  done',
    '  aws_request ec2 "${EC2_URL}" "${options[@]}"',
    '}',
    '',
    '# The text of the first <TAG> element of the XML on stdin (nothing when there is none).',
    'xml_value() {',
    '  local xml value',
    "  IFS= read -r -d '' xml || true",
    '  [[ "${xml}" == *"<$1>"* ]] || return 0',
    '  value="${xml#*"<$1>"}"',
    '  printf "%s" "${value%%"</$1>"*}"',
    '}',
  ];
}

/**
 * The state store's bash functions (after `awsRequestSteps`): `state_store_read KEY`,
 * `state_store_write KEY` (stdin), `state_store_has KEY`; the secrets' writer is
 * `state_store_write_secret` (user-data.ts). KEY is relative to the cluster's folder.
 */
export function stateStoreSteps(): string[] {
  return [
    'state_store_read() {',
    '  s3_request "${STATE_STORE}/$1"',
    '}',
    '',
    'state_store_write() {',
    '  s3_request "${STATE_STORE}/$1" -X PUT -H "Content-Type: application/octet-stream" "${@:2}" --data-binary @-',
    '}',
    '',
    '# Whether the store holds KEY: a listing with KEY as its prefix; a listing that fails is retried, never read as absent.',
    'state_store_has() {',
    '  local listing',
    '  # Encoded and ordered as SigV4 signs a query (curl before 8.1 signs it as given).',
    '  local query="delimiter=%2F&list-type=2&prefix=${CLUSTER_NAME}%2F${1//\\//%2F}"',
    '  until listing="$(s3_request "${STATE_BUCKET_URL}/?${query}")"; do',
    '    log "listing the state store failed, retrying"',
    '    sleep 5',
    '  done',
    '  [[ "${listing}" == *"<Key>${CLUSTER_NAME}/$1</Key>"* ]]',
    '}',
  ];
}

/**
 * The Python program that writes one secret: an S3 PUT under the secrets KMS key, SigV4-signed
 * with Python's standard library. curl before 8.10 sorts a signed header whose name is a prefix
 * of another's after it (`x-amz-server-side-encryption` and `...-aws-kms-key-id`), which S3
 * refuses, and Ubuntu 24.04 ships curl 8.5; these writes are the only requests that carry such
 * headers. Arguments: URL, region, key ID, and `create-only` for `If-None-Match: *`; the
 * instance role's credentials (IMDS JSON) on fd 3, the body on stdin. A refusal exits with
 * `returned error: <status>`, as curl says it.
 */
const SIGNED_SECRET_PUT = [
  'import datetime, hashlib, hmac, json, os, sys, time, urllib.error, urllib.parse, urllib.request',
  'url, region, key_id, mode = sys.argv[1:5]',
  'creds = json.load(os.fdopen(3))',
  'body = sys.stdin.buffer.read()',
  'parts = urllib.parse.urlsplit(url)',
  'def signed_request():',
  '  amz_date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")',
  '  headers = {"host": parts.netloc, "x-amz-content-sha256": hashlib.sha256(body).hexdigest(), "x-amz-date": amz_date,',
  '    "x-amz-security-token": creds["Token"], "x-amz-server-side-encryption": "aws:kms",',
  '    "x-amz-server-side-encryption-aws-kms-key-id": key_id, "x-amz-server-side-encryption-bucket-key-enabled": "true"}',
  '  if mode == "create-only":',
  '    headers["if-none-match"] = "*"',
  '  names = sorted(headers)',
  '  canonical = "\\n".join(["PUT", parts.path, "", *[n + ":" + headers[n] for n in names], "", ";".join(names), headers["x-amz-content-sha256"]])',
  '  scope = amz_date[:8] + "/" + region + "/s3/aws4_request"',
  '  to_sign = "\\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])',
  '  key = ("AWS4" + creds["SecretAccessKey"]).encode()',
  '  for part in (amz_date[:8], region, "s3", "aws4_request"):',
  '    key = hmac.new(key, part.encode(), hashlib.sha256).digest()',
  '  signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()',
  '  headers["authorization"] = "AWS4-HMAC-SHA256 Credential=" + creds["AccessKeyId"] + "/" + scope + ", SignedHeaders=" + ";".join(names) + ", Signature=" + signature',
  '  del headers["host"]',
  '  headers["content-type"] = "application/octet-stream"',
  '  return urllib.request.Request(url, data=body, method="PUT", headers=headers)',
  '# Throttling, 5xx and network errors are tried again (signed anew: the date is in the signature);',
  '# a create-only write whose first try went through answers 412 later, which the caller reads back.',
  'for attempt in range(5):',
  '  try:',
  '    urllib.request.urlopen(signed_request(), timeout=60)',
  '    sys.exit(0)',
  '  except urllib.error.HTTPError as error:',
  '    failure = "returned error: %d" % error.code',
  '    if error.code != 429 and error.code < 500:',
  '      sys.exit(failure)',
  '  except (urllib.error.URLError, OSError) as error:',
  '    failure = "request failed: %s" % error',
  '  time.sleep(2 ** attempt)',
  'sys.exit(failure)',
].join('\n');

/**
 * The control plane's one way to write a secret, stdin to `<cluster>/KEY`:
 * `state_store_write_secret KEY [create-only]`, under the secrets KMS key as the bucket policy
 * requires. Without a key (the local backend's old records) it writes as any other object.
 */
export function secretWriteSteps(secretsKeyArn: string | undefined): string[] {
  if (!secretsKeyArn)
    return [
      'state_store_write_secret() {',
      '  if [ "${2:-}" = create-only ]; then state_store_write "$1" -H "If-None-Match: *"; else state_store_write "$1"; fi',
      '}',
    ];
  return [
    `readonly SECRETS_KEY=${shellQuote(secretsKeyArn)}`,
    `readonly SIGNED_SECRET_PUT=${shellQuote(SIGNED_SECRET_PUT)}`,
    'state_store_write_secret() {',
    '  local role',
    '  role="$(imds iam/security-credentials/)"',
    '  python3 -c "${SIGNED_SECRET_PUT}" "${STATE_STORE}/$1" "${AWS_REGION}" "${SECRETS_KEY}" "${2:-}" \\',
    '    3< <(imds "iam/security-credentials/${role}")',
    '}',
  ];
}
