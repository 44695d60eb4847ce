import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  LAMBDA_RUNTIME_ERROR_NAMES,
  LAMBDA_SERVICE_ERROR_NAMES,
  LAMBDA_TIMEOUT_ERROR,
  PERMANENT_ERROR_NAMES,
  TASK_RETRY,
  TRANSIENT_ERROR_NAMES,
} from '../../src/errors.js';
import {
  ALL_STATE_MACHINES,
  CHILD_STATE_MACHINES,
  FUNCTIONS,
} from '../../src/functions-registry.js';
import { EXECUTION_INPUTS, HANDLER_ACTIONS } from '../../src/stages/inputs.js';
import {
  CHILD_RETRY,
  START_EXECUTION_SYNC,
  STEP_FUNCTIONS_SERVICE_ERROR_NAMES,
} from '../../src/statemachines/asl.js';
import { ROOT } from '../helpers.js';
import { readTemplate } from '../support/template.js';

type State = {
  Type: string;
  Next?: string;
  Default?: string;
  Resource?: string;
  Parameters?: Record<string, unknown>;
  ItemSelector?: Record<string, unknown>;
  ItemProcessor?: Asl;
  ResultPath?: string | null;
  OutputPath?: string | null;
  Retry?: Array<{ ErrorEquals: string[] }>;
  Catch?: Array<{ ErrorEquals: string[]; Next: string }>;
  Choices?: Array<{ Next: string }>;
};
type Asl = { StartAt: string; States: Record<string, State> };

/** Every state, nested Map processors included, with the name of the scope it is in. */
function allStates(asl: Asl): Array<[string, State]> {
  return Object.entries(asl.States).flatMap(
    ([name, s]): Array<[string, State]> => [
      [name, s],
      ...(s.ItemProcessor ? allStates(s.ItemProcessor) : []),
    ],
  );
}
/** A Task of one of kopsless's Lambdas (the others start a child state machine). */
const isLambdaTask = (s: State) => s.Type === 'Task' && s.Resource !== START_EXECUTION_SYNC;
const childMachines = new Set<string>(Object.values(CHILD_STATE_MACHINES));

const aslFiles = readdirSync(join(ROOT, 'statemachines')).filter((f) => f.endsWith('.asl.json'));
const readAsl = (file: string) => ({
  text: readFileSync(join(ROOT, 'statemachines', file), 'utf8'),
  asl: JSON.parse(readFileSync(join(ROOT, 'statemachines', file), 'utf8')) as Asl,
});
const template = readTemplate();
const KNOWN_ERRORS = new Set<string>([
  ...TRANSIENT_ERROR_NAMES,
  ...PERMANENT_ERROR_NAMES,
  ...LAMBDA_SERVICE_ERROR_NAMES,
  ...LAMBDA_RUNTIME_ERROR_NAMES,
  ...STEP_FUNCTIONS_SERVICE_ERROR_NAMES,
]);

/** The top-level fields of a machine's input: the completed execution input, or for a child what its parent passes. */
function inputFields(machine: string): string[] {
  if (machine in EXECUTION_INPUTS) {
    const name = machine as keyof typeof EXECUTION_INPUTS;
    return Object.keys(
      EXECUTION_INPUTS[name].parse(
        name === 'create-cluster' ? { manifest: 'kind: Cluster' } : { cluster: 'c' },
      ),
    );
  }
  const id = Object.entries(CHILD_STATE_MACHINES).find(([, n]) => n === machine)?.[0];
  const starts = aslFiles
    .flatMap((f) => allStates(readAsl(f).asl))
    .filter(
      ([, s]) =>
        s.Resource === START_EXECUTION_SYNC && s.Parameters?.StateMachineArn === `\${${id}Arn}`,
    );
  expect(starts.length, `nothing starts ${machine}`).toBeGreaterThan(0);
  const keys = starts.map(([, s]) =>
    Object.keys(s.Parameters!.Input as object)
      .map((k) => k.replace(/\.\$$/, ''))
      .sort(),
  );
  // Every start passes the same fields, or the child reads one some parent left out.
  keys.forEach((k) => expect(k).toEqual(keys[0]));
  return keys[0]!;
}

/** The machine and each Map's processor, with the fields its input has (a processor's: its ItemSelector's keys). */
function scopes(
  asl: Asl,
  fields: string[],
): Array<{ definition: Asl; states: Array<[string, State]>; fields: string[] }> {
  return [
    { definition: asl, states: Object.entries(asl.States), fields },
    ...Object.values(asl.States).flatMap((s) =>
      s.ItemProcessor
        ? scopes(
            s.ItemProcessor,
            Object.keys(s.ItemSelector ?? {}).map((k) => k.replace(/\.\$$/, '')),
          )
        : [],
    ),
  ];
}

describe.each(aslFiles)('%s', (file) => {
  const { text, asl } = readAsl(file);
  const states = allStates(asl);

  it('names every error it retries or catches after an error the code throws (or States.ALL in a Catch)', () => {
    const unknown = states.flatMap(([name, s]) => [
      ...(s.Retry ?? []).flatMap((r) =>
        r.ErrorEquals.filter((e) => !KNOWN_ERRORS.has(e)).map((e) => `${name} Retry ${e}`),
      ),
      ...(s.Catch ?? []).flatMap((c) =>
        c.ErrorEquals.filter((e) => !KNOWN_ERRORS.has(e) && e !== 'States.ALL').map(
          (e) => `${name} Catch ${e}`,
        ),
      ),
    ]);
    expect(unknown).toEqual([]);
  });

  it('retries the Lambda service errors, a Lambda timeout and transient AWS errors on every Lambda Task, never everything', () => {
    for (const [name, s] of states.filter(([, s]) => isLambdaTask(s))) {
      const retried = (s.Retry ?? []).flatMap((r) => r.ErrorEquals);
      expect(retried, name).toEqual(
        expect.arrayContaining([
          ...LAMBDA_SERVICE_ERROR_NAMES,
          LAMBDA_TIMEOUT_ERROR,
          ...TRANSIENT_ERROR_NAMES,
        ]),
      );
      expect(retried, name).not.toContain('States.ALL');
      expect(retried, name).not.toContain('States.TaskFailed');
    }
  });

  it('gives every Lambda Task exactly the Retry policy the code exports (TASK_RETRY in src/errors.ts), every child start CHILD_RETRY', () => {
    const differing = states
      .filter(
        ([, s]) =>
          s.Type === 'Task' &&
          JSON.stringify(s.Retry) !== JSON.stringify(isLambdaTask(s) ? TASK_RETRY : CHILD_RETRY),
      )
      .map(([name]) => name);

    expect(differing).toEqual([]);
  });

  it('starts only child state machines, through their ${<LogicalId>Arn} substitution', () => {
    const starts = states
      .filter(([, s]) => s.Resource === START_EXECUTION_SYNC)
      .map(([, s]) => /^\$\{(\w+)Arn\}$/.exec(String(s.Parameters?.StateMachineArn))?.[1]);

    expect(starts.filter((id) => !id || !(id in CHILD_STATE_MACHINES))).toEqual([]);
  });

  it('sends every Task an action its handler has (and none to a handler without actions)', () => {
    const wrong = states
      .filter(([, s]) => isLambdaTask(s))
      .flatMap(([name, s]) => {
        const id = /^\$\{(\w+)Arn\}$/.exec(s.Resource ?? '')?.[1] as keyof typeof HANDLER_ACTIONS;
        const actions: string[] = HANDLER_ACTIONS[id] ?? [];
        const action = s.Parameters?.action;
        const ok =
          actions.length === 0
            ? action === undefined && !('action.$' in (s.Parameters ?? {}))
            : typeof action === 'string' && actions.includes(action);
        return ok ? [] : [`${name}: ${id} ${JSON.stringify(action)}`];
      });

    expect(wrong).toEqual([]);
  });

  it.skipIf(childMachines.has(file.replace('.asl.json', '')))(
    'validates its input in its first state, before the lock, with no Catch to record a failure',
    () => {
      const machine = file.replace('.asl.json', '');
      const first = asl.States[asl.StartAt]!;

      expect(asl.StartAt).toBe('ValidateInput');
      expect(first.Parameters).toEqual({
        action: 'validateInput',
        stateMachine: machine,
        'input.$': '$',
      });
      // The result replaces the input. Not written as "ResultPath": "$": aws-local-stepfunctions
      // would store it under a key named "$" instead.
      expect(first.ResultPath).toBeUndefined();
      expect(first.OutputPath).toBeUndefined();
      expect(first.Catch).toBeUndefined();
    },
  );

  it('reads from $ only fields its input always has or an earlier state of the same scope writes', () => {
    const machine = file.replace('.asl.json', '');
    const top = (path: string) => /^\$\.([A-Za-z0-9_]+)/.exec(path)?.[1];
    const unsure = scopes(asl, inputFields(machine)).flatMap(({ states: own, fields }) => {
      const written = new Set(
        own.flatMap(([, s]) =>
          [s.ResultPath, ...(s.Catch ?? []).map((c) => (c as { ResultPath?: string }).ResultPath)]
            .map((p) => (typeof p === 'string' ? top(p) : undefined))
            .filter(Boolean),
        ),
      );
      const paths: string[] = [];
      const walk = (node: unknown, key = ''): void => {
        // A nested processor reads its own input; a ResultSelector reads the Task's result.
        if (key === 'ItemProcessor' || key === 'ResultSelector') return;
        if (
          typeof node === 'string' &&
          (key.endsWith('.$') || key === 'Variable' || key.endsWith('Path')) &&
          key !== 'ResultPath'
        )
          paths.push(node);
        else if (Array.isArray(node)) node.forEach((n) => walk(n));
        else if (node && typeof node === 'object')
          Object.entries(node).forEach(([k, v]) => walk(v, k));
      };
      own.forEach(([, s]) => walk(s));
      return [
        ...new Set(
          paths.map(top).filter((f): f is string => !!f && !written.has(f) && !fields.includes(f)),
        ),
      ];
    });

    expect(unsure).toEqual([]);
  });

  it('uses PascalCase state names, each once in the whole machine, and only transitions to states of the same scope', () => {
    const names = states.map(([n]) => n);
    const wrong = scopes(asl, []).flatMap(({ definition }) =>
      Object.values(definition.States)
        .flatMap((s) => [
          s.Next,
          s.Default,
          ...(s.Catch ?? []).map((c) => c.Next),
          ...(s.Choices ?? []).map((c) => c.Next),
        ])
        .filter((t): t is string => !!t && !(t in definition.States)),
    );

    expect(names.filter((n) => !/^[A-Z][A-Za-z0-9]*$/.test(n))).toEqual([]);
    expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
    expect(wrong).toEqual([]);
    expect(asl.States[asl.StartAt]).toBeDefined();
  });

  it('has a value in template.yaml for every substitution, and no value the ASL does not use', () => {
    const used = new Set([...text.matchAll(/\$\{(\w+)\}/g)].map((m) => m[1]));
    const machine = Object.values(template.Resources).find(
      (r) =>
        r.Type === 'AWS::Serverless::StateMachine' &&
        r.Properties?.DefinitionUri === `statemachines/${file}`,
    );
    const given = new Set(Object.keys(machine?.Properties?.DefinitionSubstitutions ?? {}));

    expect(machine, `no state machine resource uses ${file}`).toBeDefined();
    expect([...used].sort()).toEqual([...given].sort());
  });

  it('binds every Lambda Task to a known function by ${<LogicalId>Arn}', () => {
    const resources = states.filter(([, s]) => isLambdaTask(s)).map(([, s]) => s.Resource);
    expect(
      resources.filter((r) => !Object.keys(FUNCTIONS).some((id) => r === `\${${id}Arn}`)),
    ).toEqual([]);
  });
});

describe('template.yaml', () => {
  it('has a function resource for every functions/*.ts entry, and the reverse', () => {
    // The cluster API function is a layer each cluster's stack loads, not a function of this one.
    const layerEntries = Object.values(template.Resources)
      .filter((r) => r.Type === 'AWS::Serverless::LayerVersion')
      .flatMap((r) => r.Metadata?.BuildProperties?.EntryPoints ?? [])
      .map((entry: string) => entry.replace(/^functions\/|\.ts$/g, ''));
    const files = readdirSync(join(ROOT, 'functions'))
      .filter((f) => f.endsWith('.ts'))
      .map((f) => f.replace(/\.ts$/, ''))
      .filter((f) => !layerEntries.includes(f))
      .sort();

    expect(layerEntries).toEqual(['cluster-api']);
    const functions = Object.entries(template.Resources).filter(
      ([, r]) => r.Type === 'AWS::Serverless::Function',
    );

    expect(Object.values(FUNCTIONS).slice().sort()).toEqual(files);
    expect(functions.map(([id]) => id).sort()).toEqual(Object.keys(FUNCTIONS).sort());
    for (const [id, r] of functions) {
      const file = FUNCTIONS[id as keyof typeof FUNCTIONS];
      expect(r.Properties?.Handler).toBe(`${file}.handler`);
      expect(r.Metadata?.BuildProperties?.EntryPoints).toEqual([`functions/${file}.ts`]);
    }
  });

  it('has a state machine resource for every ASL file', () => {
    const uris = Object.values(template.Resources)
      .filter((r) => r.Type === 'AWS::Serverless::StateMachine')
      .map((r) => r.Properties?.DefinitionUri);
    expect(uris.sort()).toEqual(
      Object.values(ALL_STATE_MACHINES)
        .map((n) => `statemachines/${n}.asl.json`)
        .sort(),
    );
  });

  it('keeps the state bucket versioned, encrypted, private and TLS-only', () => {
    const bucket = template.Resources.StateBucket!.Properties!;
    const policy = JSON.stringify(template.Resources.StateBucketPolicy!.Properties!.PolicyDocument);

    expect(bucket.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    expect(bucket.BucketEncryption).toBeDefined();
    expect(Object.values(bucket.PublicAccessBlockConfiguration)).toEqual([true, true, true, true]);
    expect(policy).toContain('aws:SecureTransport');
  });

  it('allows no wildcard action (the TLS-only bucket policy denies s3:*, which is the point)', () => {
    const statements: Array<{ Effect: string; Action: string | string[] }> = [];
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(walk);
      else if (node && typeof node === 'object') {
        const o = node as Record<string, unknown>;
        if ('Effect' in o && 'Action' in o) statements.push(o as never);
        Object.values(o).forEach(walk);
      }
    };
    walk(template.Resources);

    const allowed = statements
      .filter((s) => s.Effect === 'Allow')
      .flatMap((s) => [s.Action].flat());
    expect(allowed.length).toBeGreaterThan(0);
    expect(allowed.filter((a) => a.includes('*'))).toEqual([]);
  });
});

describe('template.yaml and cfn-lint', () => {
  it('passes cfn-lint with no findings', async () => {
    const { spawnSync } = await import('node:child_process');

    const result = spawnSync('cfn-lint', [join(ROOT, 'template.yaml')], { encoding: 'utf8' });

    if (result.error) throw new Error(`cfn-lint is needed for this test: ${result.error.message}`);
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  }, 60_000);

  it('runs the ENI watcher every 5 minutes and on EC2 instance state changes (through its queue)', () => {
    const events = template.Resources.WatchEniFunction!.Properties!.Events as Record<
      string,
      { Type: string; Properties: Record<string, any> }
    >;

    expect(
      Object.values(events)
        .map((e) => e.Type)
        .sort(),
    ).toEqual(['SQS', 'Schedule']);
    expect(Object.values(events).find((e) => e.Type === 'Schedule')!.Properties.Schedule).toBe(
      'rate(5 minutes)',
    );
    expect(
      template.Resources.WatchEniInstanceStateChangeRule!.Properties!.EventPattern['detail-type'],
    ).toEqual(['EC2 Instance State-change Notification']);
  });

  it('serves every API route through IAM-authorized API Gateway', () => {
    const api = template.Resources.KopslessApi!.Properties!;
    const routes = Object.values(
      template.Resources.ApiFunction!.Properties!.Events as Record<
        string,
        { Properties: { Path: string; Method: string } }
      >,
    ).map((e) => `${e.Properties.Method} ${e.Properties.Path}`);

    expect(api.Auth.DefaultAuthorizer).toBe('AWS_IAM');
    expect(routes.sort()).toEqual([
      'DELETE /clusters/{name}',
      'GET /clusters',
      'GET /clusters/{name}',
      'GET /clusters/{name}/executions/{id}',
      'GET /clusters/{name}/kubeconfig',
      'POST /admin/kubeconfig/{name}',
      'POST /clusters',
      'POST /clusters/{name}/register',
      'POST /clusters/{name}/rolling-update',
      'POST /clusters/{name}/update',
    ]);
  });
});
