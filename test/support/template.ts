import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { INTRINSICS as intrinsics } from '../../src/local/sfn/sam-template.js';
import { ROOT } from '../helpers.js';

export type Template = {
  Resources: Record<
    string,
    { Type: string; Properties?: Record<string, any>; Metadata?: Record<string, any> }
  >;
  Outputs?: Record<string, unknown>;
  [key: string]: unknown;
};

export function readTemplate(): Template {
  return parse(readFileSync(join(ROOT, 'template.yaml'), 'utf8'), {
    customTags: intrinsics,
  }) as Template;
}
