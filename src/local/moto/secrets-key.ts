import {
  CreateAliasCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  EnableKeyRotationCommand,
  KMSClient,
  NotFoundException,
} from '@aws-sdk/client-kms';
import type { AwsClientSettings } from '../../aws/clients.js';
import { LOCAL_STACK_NAME } from '../../functions-registry.js';

/**
 * The local backend's copy of template.yaml's `SecretsKey` and `SecretsKeyAlias`: a symmetric KMS
 * key with rotation on, under the alias a deployment of that name gets, made in moto once and
 * found again by its alias afterwards.
 */

/** The alias template.yaml gives the secrets key of the deployment `stack` (`SecretsKeyAlias`). */
export function secretsKeyAliasName(stack: string = LOCAL_STACK_NAME): string {
  return `alias/${stack}/state-secrets`;
}

/**
 * Makes the secrets key and its alias unless the alias exists; returns the alias ARN, the value
 * template.yaml gives the functions as SECRETS_KEY_ARN.
 */
export async function ensureSecretsKey(
  settings: AwsClientSettings,
  stack: string = LOCAL_STACK_NAME,
): Promise<string> {
  const kms = new KMSClient(settings);
  const alias = secretsKeyAliasName(stack);
  try {
    const found = await kms
      .send(new DescribeKeyCommand({ KeyId: alias }))
      .catch((error: unknown) => {
        if (error instanceof NotFoundException) return undefined;
        throw error;
      });
    const keyArn = found?.KeyMetadata?.Arn;
    if (keyArn) return aliasArnOf(keyArn, alias);
    const created = await kms.send(
      new CreateKeyCommand({
        Description: "kopsless - encrypts the state store's secrets/ objects",
        Tags: [{ TagKey: 'kopsless.io/owner', TagValue: stack }],
      }),
    );
    const keyId = created.KeyMetadata?.KeyId;
    const arn = created.KeyMetadata?.Arn;
    if (!keyId || !arn) throw new Error('KMS CreateKey answered without a key ID');
    await kms.send(new EnableKeyRotationCommand({ KeyId: keyId }));
    await kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: keyId }));
    return aliasArnOf(arn, alias);
  } finally {
    kms.destroy();
  }
}

/** `arn:aws:kms:<region>:<account>:alias/<name>` in the key's region and account. */
function aliasArnOf(keyArn: string, alias: string): string {
  return keyArn.replace(/:key\/.*$/, `:${alias}`);
}
