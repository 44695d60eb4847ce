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
    '  until listing="$(s3_request "${STATE_BUCKET_URL}/" --get --data-urlencode "delimiter=/" --data-urlencode "list-type=2" \\',
    '    --data-urlencode "prefix=${CLUSTER_NAME}/$1")"; do',
    '    log "listing the state store failed, retrying"',
    '    sleep 5',
    '  done',
    '  [[ "${listing}" == *"<Key>${CLUSTER_NAME}/$1</Key>"* ]]',
    '}',
  ];
}
