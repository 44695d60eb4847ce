import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, type Tags } from 'yaml';
import { ROOT } from '../helpers.js';

// CloudFormation's short-form intrinsics, read as `{ "Fn::X": value }` like the long form.
const intrinsics: Tags = [
  'Ref',
  'GetAtt',
  'Sub',
  'If',
  'Equals',
  'Join',
  'Select',
  'Split',
  'Not',
  'And',
  'Or',
  'FindInMap',
  'ImportValue',
  'GetAZs',
  'Base64',
  'Cidr',
].flatMap(
  (name) =>
    (['scalar', 'seq', 'map'] as const).map((nodeClass) => ({
      tag: `!${name}`,
      collection: nodeClass === 'scalar' ? undefined : nodeClass,
      resolve: (value: unknown) => ({
        [name === 'Ref' ? 'Ref' : `Fn::${name}`]:
          typeof value === 'object' && value && 'toJSON' in value
            ? (value as { toJSON: () => unknown }).toJSON()
            : value,
      }),
    })) as Tags,
);

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
