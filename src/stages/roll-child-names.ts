import { createHash } from 'node:crypto';
import { EXECUTION_NAME_MAX_CHARS, executionNameProblem } from '../aws/sfn.js';

/**
 * The execution names a roll's parent gives its children. A name is worked out, never drawn at
 * random, from what the parent's state holds (its own ARN, the group, which child of the group it
 * is), so a start retried after a lost answer asks for the same name and Step Functions answers
 * the same execution; and the parent reserves it in the lock first, so a child whose name it did
 * not reserve (one started by hand) is refused before it changes anything.
 */

/** Characters of the instance group's name kept in a child's name (the hash tells them apart). */
const GROUP_CHARS = 48;

/**
 * `<group>-<sequence>-<16 hex>`: the instance group (characters outside `[A-Za-z0-9_-]` as `-`,
 * at most 48 of them), which child of the group this is (1, 2, ... as it continues as new), and a
 * hash of the parent's ARN, the group and the sequence. At most 80 characters, Step Functions'
 * alphabet only.
 */
export function childExecutionName(
  parentExecution: string,
  instanceGroup: string,
  sequence: number,
): string {
  if (!Number.isInteger(sequence) || sequence < 1)
    throw new RangeError(`child sequence ${sequence} is not a whole number from 1`);
  const group = instanceGroup.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, GROUP_CHARS);
  const hash = createHash('sha256')
    .update(`${parentExecution}\n${instanceGroup}\n${sequence}`)
    .digest('hex')
    .slice(0, 16);
  const name = `${group}-${sequence}-${hash}`;
  const problem = executionNameProblem(name);
  // Cannot happen for a sequence below 10^12: a defect, not bad input.
  if (problem || name.length > EXECUTION_NAME_MAX_CHARS)
    throw new Error(`child execution name ${name}: ${problem}`);
  return name;
}
