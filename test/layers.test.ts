import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers.js';

// The layers of the code base, held by reading every import (static, re-export and dynamic).

interface Import {
  /** The importing file, relative to the repository. */
  from: string;
  /** A package name or node: module, or a repository path (`src/aws/ec2.ts`). */
  target: string;
  typeOnly: boolean;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /\.(ts|mts|mjs|js)$/.test(e.name) && !e.name.endsWith('.d.ts'))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)));
}

/** `../aws/ec2.js` from src/stages/x.ts is src/aws/ec2.ts. */
function resolveTarget(from: string, specifier: string): string {
  if (!specifier.startsWith('.')) return specifier;
  return relative(ROOT, resolve(ROOT, dirname(from), specifier)).replace(/\.js$/, '.ts');
}

function importsOf(file: string): Import[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false);
  const found: Import[] = [];
  const add = (specifier: ts.Expression | undefined, typeOnly: boolean) => {
    if (specifier && ts.isStringLiteral(specifier))
      found.push({ from: file, target: resolveTarget(file, specifier.text), typeOnly });
  };
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node)) {
      const clause = node.importClause;
      const allTypes =
        !!clause?.isTypeOnly ||
        (!!clause &&
          !clause.name &&
          !!clause.namedBindings &&
          ts.isNamedImports(clause.namedBindings) &&
          clause.namedBindings.elements.length > 0 &&
          clause.namedBindings.elements.every((e) => e.isTypeOnly));
      add(node.moduleSpecifier, allTypes);
    } else if (ts.isExportDeclaration(node)) add(node.moduleSpecifier, node.isTypeOnly);
    else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0]
    )
      add(node.arguments[0], false);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

const ALL = ['src', 'functions', 'scripts', 'test', 'bin'].flatMap(sourceFiles).flatMap(importsOf);
const under = (path: string, ...folders: string[]) => folders.some((f) => path.startsWith(`${f}/`));
const show = (list: Import[]) => list.map((i) => `${i.from} -> ${i.target}`);

/** Node modules that reach outside the process: files, processes, the network. */
const NODE_IO =
  /^node:(fs|fs\/promises|child_process|http|https|http2|net|dgram|dns|tls|worker_threads)$/;
/** Packages that talk to AWS or Kubernetes, or run state machines. */
const IO_PACKAGES = /^(@aws-sdk\/|@smithy\/|@kubernetes\/|aws-local-stepfunctions)/;

/** Value imports of I/O, adapters or stages from the manifest model and planning. */
function impureImports(imports: Import[]): Import[] {
  // node:net's isIPv4/isIPv6 are pure checks; the key layout of the state store is data.
  const pureExceptions = new Set(['node:net', 'src/state/layout.ts']);
  return imports.filter(
    (i) =>
      under(i.from, 'src/manifest', 'src/planning') &&
      !i.typeOnly &&
      !pureExceptions.has(i.target) &&
      (NODE_IO.test(i.target) ||
        IO_PACKAGES.test(i.target) ||
        under(
          i.target,
          'src/aws',
          'src/kube',
          'src/state',
          'src/local',
          'src/stages',
          'src/handlers',
          'src/cli',
        )),
  );
}

/** Imports of the local backend from code that also runs in AWS. */
function localBackendImports(imports: Import[]): Import[] {
  return imports.filter(
    (i) =>
      under(i.target, 'src/local') && !under(i.from, 'src/cli', 'src/local', 'scripts', 'test'),
  );
}

/** Value imports of SDK or Kubernetes clients from the stages. */
function clientImports(imports: Import[]): Import[] {
  return imports.filter(
    (i) => under(i.from, 'src/stages') && !i.typeOnly && IO_PACKAGES.test(i.target),
  );
}

describe('layers', () => {
  it('finds the imports it checks', () => {
    expect(ALL.length).toBeGreaterThan(500);
    expect(ALL).toContainEqual({
      from: 'src/cli/main.ts',
      target: 'src/cli/create.ts',
      typeOnly: false,
    });
  });

  it('keeps the manifest model and planning pure: no I/O, no adapters, no stages', () => {
    expect(show(impureImports(ALL))).toEqual([]);
  });

  it('lets only the CLI, the local backend, scripts and tests import the local backend', () => {
    expect(show(localBackendImports(ALL))).toEqual([]);
  });

  it('gives the stages ports, not SDK or Kubernetes clients', () => {
    expect(show(clientImports(ALL))).toEqual([]);
  });

  it('reports each kind of import across a layer', () => {
    const planted: Import[] = [
      { from: 'src/planning/a.ts', target: 'node:fs', typeOnly: false },
      { from: 'src/manifest/b.ts', target: 'src/aws/ec2.ts', typeOnly: false },
      { from: 'src/manifest/b.ts', target: 'src/aws/ec2.ts', typeOnly: true },
      { from: 'src/state/c.ts', target: 'src/local/sfn/step-functions.ts', typeOnly: true },
      { from: 'src/stages/d.ts', target: '@aws-sdk/client-ec2', typeOnly: false },
      { from: 'src/stages/d.ts', target: '@aws-sdk/client-ec2', typeOnly: true },
    ];

    expect(impureImports(planted)).toEqual([planted[0], planted[1]]);
    expect(localBackendImports(planted)).toEqual([planted[3]]);
    expect(clientImports(planted)).toEqual([planted[4]]);
  });
});
