import {
  type CloudFormationClient,
  CreateStackCommand,
  DeleteStackCommand,
  DescribeStacksCommand,
  GetTemplateCommand,
  paginateDescribeStackEvents,
  type StackEvent,
  UpdateStackCommand,
} from '@aws-sdk/client-cloudformation';
import { rethrowAws } from '../errors.js';

/** The calls kopsless makes on CloudFormation, and nothing else. */
export interface StackApi {
  describe(stackName: string): Promise<StackState | undefined>;
  create(input: {
    stackName: string;
    templateBody: string;
    tags: Array<{ Key: string; Value: string }>;
    clientRequestToken: string;
    /** The service role CloudFormation acts with (unset: the caller's credentials). */
    roleArn?: string;
  }): Promise<void>;
  /** 'unchanged' when CloudFormation says there is nothing to update. */
  update(input: {
    stackName: string;
    templateBody: string;
    tags: Array<{ Key: string; Value: string }>;
    roleArn?: string;
  }): Promise<'updating' | 'unchanged'>;
  /**
   * `retain`: logical IDs a stack in DELETE_FAILED leaves in place (CloudFormation's
   * RetainResources, accepted only in that state).
   */
  delete(stackName: string, roleArn?: string, retain?: readonly string[]): Promise<void>;
  /** The template body the stack was last given (JSON text). */
  template(stackName: string): Promise<string | undefined>;
  /** The first failure reason of the stack's latest operation, for error messages. */
  firstFailure(stackName: string): Promise<string | undefined>;
}

export interface StackState {
  stackId: string;
  status: string;
  statusReason?: string;
  outputs: Record<string, string>;
  tags: Record<string, string>;
}

/** The stack status that opens an operation (a rollback belongs to the operation before it). */
const OPERATION_STARTS = new Set([
  'CREATE_IN_PROGRESS',
  'UPDATE_IN_PROGRESS',
  'DELETE_IN_PROGRESS',
  'IMPORT_IN_PROGRESS',
]);

const describeFailure = (e: StackEvent | undefined) =>
  e ? `${e.LogicalResourceId}: ${e.ResourceStatusReason}` : undefined;

/** `client` is a whole SDK client: the SDK's paginators insist on one. */
export function cloudFormationStackApi(client: CloudFormationClient): StackApi {
  return {
    async describe(stackName) {
      try {
        const out = await client.send(new DescribeStacksCommand({ StackName: stackName }));
        const stack = out.Stacks?.[0];
        if (!stack || stack.StackStatus === 'DELETE_COMPLETE') return undefined;
        return {
          stackId: stack.StackId ?? stackName,
          status: stack.StackStatus ?? 'UNKNOWN',
          ...(stack.StackStatusReason ? { statusReason: stack.StackStatusReason } : {}),
          outputs: Object.fromEntries(
            (stack.Outputs ?? []).map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']),
          ),
          tags: Object.fromEntries((stack.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])),
        };
      } catch (error) {
        if (
          (error as Error).name === 'ValidationError' &&
          /does not exist/.test((error as Error).message)
        )
          return undefined;
        return rethrowAws(error);
      }
    },
    async create({ stackName, templateBody, tags, clientRequestToken, roleArn }) {
      try {
        await client.send(
          new CreateStackCommand({
            StackName: stackName,
            TemplateBody: templateBody,
            Capabilities: ['CAPABILITY_NAMED_IAM'],
            Tags: tags,
            OnFailure: 'DELETE',
            ClientRequestToken: clientRequestToken,
            ...(roleArn ? { RoleARN: roleArn } : {}),
          }),
        );
      } catch (error) {
        // A retried create whose first attempt went through: the stack exists, which is the goal.
        if ((error as Error).name === 'AlreadyExistsException') return;
        rethrowAws(error);
      }
    },
    async update({ stackName, templateBody, tags, roleArn }) {
      try {
        await client.send(
          new UpdateStackCommand({
            StackName: stackName,
            TemplateBody: templateBody,
            Capabilities: ['CAPABILITY_NAMED_IAM'],
            Tags: tags,
            ...(roleArn ? { RoleARN: roleArn } : {}),
          }),
        );
        return 'updating';
      } catch (error) {
        if (/No updates are to be performed/.test((error as Error).message)) return 'unchanged';
        // A retried update whose first attempt went through (its answer lost): the update runs.
        if (
          (error as Error).name === 'ValidationError' &&
          /UPDATE_IN_PROGRESS state and can ?not be updated/.test((error as Error).message)
        )
          return 'updating';
        return rethrowAws(error);
      }
    },
    async delete(stackName, roleArn, retain) {
      try {
        await client.send(
          new DeleteStackCommand({
            StackName: stackName,
            ...(roleArn ? { RoleARN: roleArn } : {}),
            ...(retain?.length ? { RetainResources: [...retain] } : {}),
          }),
        );
      } catch (error) {
        rethrowAws(error);
      }
    },
    async template(stackName) {
      try {
        const out = await client.send(new GetTemplateCommand({ StackName: stackName }));
        return out.TemplateBody;
      } catch (error) {
        if ((error as Error).name === 'ValidationError') return undefined;
        return rethrowAws(error);
      }
    },
    async firstFailure(stackName) {
      try {
        // Events come newest first, in pages; the latest operation starts at the stack's own
        // *_IN_PROGRESS event. Its first failure is the oldest one seen before that.
        const failures: StackEvent[] = [];
        for await (const page of paginateDescribeStackEvents(
          { client },
          { StackName: stackName },
        )) {
          for (const e of page.StackEvents ?? []) {
            if (/FAILED$/.test(e.ResourceStatus ?? '') && e.ResourceStatusReason) failures.push(e);
            if (
              e.ResourceType === 'AWS::CloudFormation::Stack' &&
              e.PhysicalResourceId === e.StackId &&
              OPERATION_STARTS.has(e.ResourceStatus ?? '')
            )
              return describeFailure(failures.at(-1));
          }
        }
        return describeFailure(failures.at(-1));
      } catch {
        return undefined;
      }
    },
  };
}
