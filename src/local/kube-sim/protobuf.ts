import protobuf from 'protobufjs';
import type { Obj } from './cluster.js';

/**
 * Reads the protobuf bodies kubectl's create generators send (`kubectl create deployment`,
 * `kubectl create pdb`): client-go encodes the typed objects it builds as protobuf, while
 * manifests (`kubectl apply -f`) travel as JSON. Only the fields those generators fill are
 * declared; the field numbers are those of k8s.io/api and k8s.io/apimachinery's
 * generated.proto (apps/v1, core/v1, policy/v1, meta/v1, runtime, intstr, resource). The
 * result is the JSON form of the object, so the server validates and creates it as it does a
 * JSON body.
 */

// Field names are the JSON names Kubernetes uses, so a decoded message is the JSON object
// once the few special types (IntOrString, Quantity, Time) are converted.
const PROTO = `
syntax = "proto2";
package k8s;

message TypeMeta { optional string apiVersion = 1; optional string kind = 2; }
message Unknown {
  optional TypeMeta typeMeta = 1;
  optional bytes raw = 2;
  optional string contentEncoding = 3;
  optional string contentType = 4;
}

message Time { optional int64 seconds = 1; optional int32 nanos = 2; }
message IntOrString { optional int64 type = 1; optional int32 intVal = 2; optional string strVal = 3; }
message Quantity { optional string string = 1; }

message ObjectMeta {
  optional string name = 1;
  optional string generateName = 2;
  optional string namespace = 3;
  optional Time creationTimestamp = 8;
  map<string, string> labels = 11;
  map<string, string> annotations = 12;
}
message LabelSelectorRequirement { optional string key = 1; optional string operator = 2; repeated string values = 3; }
message LabelSelector { map<string, string> matchLabels = 1; repeated LabelSelectorRequirement matchExpressions = 2; }

message ContainerPort {
  optional string name = 1;
  optional int32 hostPort = 2;
  optional int32 containerPort = 3;
  optional string protocol = 4;
  optional string hostIP = 5;
}
message EnvVar { optional string name = 1; optional string value = 2; }
message ResourceRequirements { map<string, Quantity> limits = 1; map<string, Quantity> requests = 2; }
message Container {
  optional string name = 1;
  optional string image = 2;
  repeated string command = 3;
  repeated string args = 4;
  optional string workingDir = 5;
  repeated ContainerPort ports = 6;
  repeated EnvVar env = 7;
  optional ResourceRequirements resources = 8;
  optional string terminationMessagePath = 13;
  optional string imagePullPolicy = 14;
  optional bool stdin = 16;
  optional bool stdinOnce = 17;
  optional bool tty = 18;
  optional string terminationMessagePolicy = 20;
}
message PodSpec {
  repeated Container containers = 2;
  optional string restartPolicy = 3;
  optional int64 terminationGracePeriodSeconds = 4;
  optional string dnsPolicy = 6;
  map<string, string> nodeSelector = 7;
  optional string serviceAccountName = 8;
  optional string nodeName = 10;
  optional string schedulerName = 19;
  repeated Container initContainers = 20;
  optional string priorityClassName = 24;
}
message PodTemplateSpec { optional ObjectMeta metadata = 1; optional PodSpec spec = 2; }
message PodStatus {}
message Pod { optional ObjectMeta metadata = 1; optional PodSpec spec = 2; optional PodStatus status = 3; }

message RollingUpdateDeployment { optional IntOrString maxUnavailable = 1; optional IntOrString maxSurge = 2; }
message DeploymentStrategy { optional string type = 1; optional RollingUpdateDeployment rollingUpdate = 2; }
message DeploymentSpec {
  optional int32 replicas = 1;
  optional LabelSelector selector = 2;
  optional PodTemplateSpec template = 3;
  optional DeploymentStrategy strategy = 4;
  optional int32 minReadySeconds = 5;
  optional int32 revisionHistoryLimit = 6;
  optional bool paused = 7;
  optional int32 progressDeadlineSeconds = 9;
}
message DeploymentStatus {}
message Deployment { optional ObjectMeta metadata = 1; optional DeploymentSpec spec = 2; optional DeploymentStatus status = 3; }

message PodDisruptionBudgetSpec {
  optional IntOrString minAvailable = 1;
  optional LabelSelector selector = 2;
  optional IntOrString maxUnavailable = 3;
  optional string unhealthyPodEvictionPolicy = 4;
}
message PodDisruptionBudgetStatus {}
message PodDisruptionBudget { optional ObjectMeta metadata = 1; optional PodDisruptionBudgetSpec spec = 2; optional PodDisruptionBudgetStatus status = 3; }
`;

// Resolved up front: the undeclared-field walk reads nested types before any decode has resolved them.
const root = protobuf.parse(PROTO, { keepCase: true }).root.resolveAll();
const type = (name: string) => root.lookupType(`k8s.${name}`);

/** The kinds read from protobuf, by `apiVersion/kind`. */
const KINDS: Record<string, protobuf.Type> = {
  'apps/v1/Deployment': type('Deployment'),
  'v1/Pod': type('Pod'),
  'policy/v1/PodDisruptionBudget': type('PodDisruptionBudget'),
};

/** The 4 bytes that open every Kubernetes protobuf body ("k8s" and a zero byte). */
const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

/**
 * Go fields that are pointers: their zero value is sent on purpose (`--replicas=0`) and must be
 * kept. Every other zero value on the wire is Go's non-pointer default, which JSON omits.
 */
const POINTERS = new Set([
  'replicas',
  'revisionHistoryLimit',
  'progressDeadlineSeconds',
  'terminationGracePeriodSeconds',
]);

/** A protobuf body the simulated API server cannot read; the server answers 415 (or 400 when malformed). */
export class ProtobufBodyError extends Error {
  override readonly name = 'ProtobufBodyError';
  constructor(
    message: string,
    readonly malformed = false,
  ) {
    super(message);
  }
}

/**
 * Fields the declared types do not know, by path, that carry a value. Go's encoder writes every
 * non-pointer field, zero or not, so a zero value (0, "", an empty message) of an undeclared
 * field means "not set"; anything else would be silently dropped, so it is refused instead.
 */
function undeclaredFields(t: protobuf.Type, bytes: Uint8Array, path: string, out: string[]): void {
  const reader = protobuf.Reader.create(bytes);
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    const id = tag >>> 3;
    const wire = tag & 7;
    const field = t.fieldsById[id];
    if (!field) {
      const start = reader.pos;
      if (wire === 0) {
        // Compare the two halves rather than rely on a Long implementation being loaded.
        const v = reader.uint64() as unknown as { low: number; high: number };
        if ((v.low | v.high) !== 0) out.push(`${path}#${id}`);
      } else if (wire === 2) {
        if (reader.uint32() > 0) out.push(`${path}#${id}`);
        reader.pos = start;
        reader.skipType(wire);
      } else {
        reader.skipType(wire);
        if (bytes.subarray(start, reader.pos).some((b) => b !== 0)) out.push(`${path}#${id}`);
      }
      continue;
    }
    const child = `${path}.${field.name}`;
    if (
      wire === 2 &&
      field instanceof protobuf.MapField &&
      field.resolvedType instanceof protobuf.Type
    ) {
      // A map entry is a message {key = 1; value = 2}; only message values can hide fields.
      const entry = reader.bytes();
      const r = protobuf.Reader.create(entry);
      while (r.pos < r.len) {
        const t2 = r.uint32();
        if (t2 >>> 3 === 2 && (t2 & 7) === 2)
          undeclaredFields(field.resolvedType, r.bytes(), `${child}[]`, out);
        else r.skipType(t2 & 7);
      }
    } else if (wire === 2 && field.resolvedType instanceof protobuf.Type) {
      undeclaredFields(field.resolvedType, reader.bytes(), child, out);
    } else reader.skipType(wire);
  }
}

const isMessage = (f: protobuf.Field, name: string) =>
  f.resolvedType instanceof protobuf.Type && f.resolvedType.name === name;

/** The JSON form of a decoded message: special types converted, Go's zero defaults dropped. */
function toJson(t: protobuf.Type, value: Record<string, unknown>): Obj {
  const out: Obj = {};
  for (const [key, v] of Object.entries(value)) {
    const field = t.fields[key]!;
    if (isMessage(field, 'Time')) continue; // creationTimestamp: the server sets its own
    if (field instanceof protobuf.MapField) {
      const entries = Object.entries(v as Record<string, unknown>);
      if (entries.length === 0) continue;
      out[key] = Object.fromEntries(
        entries.map(([k, item]) => [
          k,
          isMessage(field, 'Quantity') ? ((item as { string?: string }).string ?? '') : item,
        ]),
      );
    } else if (field.repeated) {
      const items = v as unknown[];
      if (items.length === 0) continue;
      out[key] =
        field.resolvedType instanceof protobuf.Type
          ? items.map((item) => convert(field, item))
          : items;
    } else if (field.resolvedType instanceof protobuf.Type) out[key] = convert(field, v);
    else if (POINTERS.has(key) || (v !== '' && v !== 0 && v !== false)) out[key] = v;
  }
  return out;
}

function convert(field: protobuf.Field, v: unknown): unknown {
  const t = field.resolvedType as protobuf.Type;
  if (t.name === 'IntOrString') {
    const x = v as { type?: number; intVal?: number; strVal?: string };
    return x.type === 1 ? (x.strVal ?? '') : (x.intVal ?? 0);
  }
  if (t.name === 'Quantity') return (v as { string?: string }).string ?? '';
  return toJson(t, v as Record<string, unknown>);
}

/**
 * The JSON object a Kubernetes protobuf body (`application/vnd.kubernetes.protobuf`) holds:
 * the magic `k8s\0`, then a runtime.Unknown whose typeMeta names the kind and whose raw is the
 * object's own message. Throws ProtobufBodyError for a malformed body, a kind not read from
 * protobuf, or a field the simulated server would drop.
 */
export function decodeKubernetesProtobuf(body: Uint8Array): Obj {
  const bytes = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (bytes.length < MAGIC.length || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new ProtobufBodyError(
      'protobuf body does not start with the Kubernetes magic "k8s\\0"',
      true,
    );
  }
  let unknown: {
    typeMeta?: { apiVersion?: string; kind?: string };
    raw?: Uint8Array;
    contentEncoding?: string;
  };
  try {
    unknown = type('Unknown').toObject(type('Unknown').decode(bytes.subarray(MAGIC.length)), {
      longs: Number,
    }) as typeof unknown;
  } catch (error) {
    throw new ProtobufBodyError(
      `protobuf body is not a runtime.Unknown envelope: ${(error as Error).message}`,
      true,
    );
  }
  const apiVersion = unknown.typeMeta?.apiVersion ?? '';
  const kind = unknown.typeMeta?.kind ?? '';
  if (unknown.contentEncoding)
    throw new ProtobufBodyError(
      `protobuf body has contentEncoding "${unknown.contentEncoding}"; the simulated API server reads unencoded bodies only`,
    );
  const t = KINDS[`${apiVersion}/${kind}`];
  if (!t) {
    throw new ProtobufBodyError(
      `the simulated API server reads ${apiVersion}/${kind || '(no kind)'} as JSON only, not protobuf: write it to a manifest and use \`kubectl apply -f\``,
    );
  }
  const raw = unknown.raw ?? new Uint8Array();
  const undeclared: string[] = [];
  let message: Record<string, unknown>;
  try {
    undeclaredFields(t, raw, kind, undeclared);
    message = t.toObject(t.decode(raw), { longs: Number, bytes: Array }) as Record<string, unknown>;
  } catch (error) {
    throw new ProtobufBodyError(
      `protobuf body's ${kind} does not decode: ${(error as Error).message}`,
      true,
    );
  }
  if (undeclared.length) {
    throw new ProtobufBodyError(
      `the protobuf ${kind} sets field(s) the simulated API server does not read (${undeclared.join(', ')}; numbers from generated.proto): use \`kubectl apply -f\` with a manifest`,
    );
  }
  return { apiVersion, kind, ...toJson(t, message) };
}
