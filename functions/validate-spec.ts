import { EC2Client } from '@aws-sdk/client-ec2';
import { ec2Api } from '../src/aws/ec2.js';
import { readConfig } from '../src/config.js';
import { stageHandler, stageLogger } from '../src/lambda.js';
import { validateSpec, type ValidateSpecInput } from '../src/stages/validate-spec.js';
import { VALIDATE_SPEC_EVENT } from '../src/stages/inputs.js';

const config = readConfig(process.env);
const deps = { ec2: ec2Api(new EC2Client({})), region: config.region };
const logger = stageLogger('validate-spec');

/** Validate spec: parse, default and validate a kOps manifest, and check it against the region; nothing is written. */
export const handler = stageHandler(logger, async (event: ValidateSpecInput) => validateSpec(event, deps), VALIDATE_SPEC_EVENT);
