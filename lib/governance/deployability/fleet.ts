import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { CfnElement, type IPolicyValidationContext, Stack } from 'aws-cdk-lib';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import type { IConstruct } from 'constructs';
import { collectRefs, type Resolved, Resolver } from './intrinsics';
import { type CfnTemplate, dependsOnOf, type StackTemplate } from './template';

/**
 * Every stack of one app as CloudFormation will receive it, with what the rules ask of it:
 * each stack's resolver, which stacks deploy after which, and which resources of a stack
 * CloudFormation creates after which.
 */
export class Fleet {
  private readonly resolvers = new Map<string, Resolver>();
  private readonly exports = new Map<string, { stack: StackTemplate; value: unknown }>();
  private readonly stackClosures = new Map<string, ReadonlySet<string>>();
  private readonly resourceClosures = new Map<string, Map<string, ReadonlySet<string>>>();
  private readonly byName: ReadonlyMap<string, StackTemplate>;

  constructor(readonly stacks: readonly StackTemplate[]) {
    this.byName = new Map(stacks.map((s) => [s.stackName, s]));
    for (const stack of stacks) {
      for (const output of Object.values(stack.template.Outputs ?? {})) {
        const name = output.Export?.Name;
        if (typeof name === 'string') this.exports.set(name, { stack, value: output.Value });
      }
    }
  }

  /** The resolver of `stack`'s template values. */
  resolver(stack: StackTemplate): Resolver {
    let resolver = this.resolvers.get(stack.stackName);
    if (!resolver) {
      resolver = new Resolver(stack, (name) => this.resolveExport(name));
      this.resolvers.set(stack.stackName, resolver);
    }
    return resolver;
  }

  private resolveExport(name: string): Resolved | undefined {
    const exported = this.exports.get(name);
    return exported && this.resolver(exported.stack).resolve(exported.value);
  }

  /** True when CloudFormation deploys `stack` after `other` (a stack dependency, transitively). */
  stackDeploysAfter(stack: StackTemplate, other: StackTemplate): boolean {
    return this.stackClosure(stack.stackName).has(other.stackName);
  }

  private stackClosure(name: string): ReadonlySet<string> {
    const known = this.stackClosures.get(name);
    if (known) return known;
    const seen = new Set<string>();
    const visit = (n: string) => {
      for (const dep of this.byName.get(n)?.dependsOn ?? []) {
        if (!seen.has(dep)) {
          seen.add(dep);
          visit(dep);
        }
      }
    };
    visit(name);
    this.stackClosures.set(name, seen);
    return seen;
  }

  /**
   * True when CloudFormation creates `logicalId` after `other` in `stack`: a `DependsOn`, or a
   * `Ref`, `Fn::GetAtt` or `Fn::Sub` of it, directly or through other resources (CloudFormation
   * User Guide, "DependsOn attribute").
   */
  createdAfter(stack: StackTemplate, logicalId: string, other: string): boolean {
    let closures = this.resourceClosures.get(stack.stackName);
    if (!closures) {
      closures = new Map();
      this.resourceClosures.set(stack.stackName, closures);
    }
    const resources = stack.template.Resources ?? {};
    const direct = (id: string): Set<string> => {
      const r = resources[id];
      if (!r) return new Set();
      const deps = collectRefs(r.Properties ?? {}, new Set(dependsOnOf(r)));
      return new Set([...deps].filter((d) => d in resources));
    };
    const closureOf = (id: string, path: Set<string>): ReadonlySet<string> => {
      const known = closures.get(id);
      if (known) return known;
      const all = new Set<string>();
      for (const dep of direct(id)) {
        all.add(dep);
        // A cycle is CloudFormation's to report; stop following it here.
        if (!path.has(dep)) for (const d of closureOf(dep, new Set([...path, dep]))) all.add(d);
      }
      closures.set(id, all);
      return all;
    };
    return closureOf(logicalId, new Set([logicalId])).has(other);
  }
}

function stacksOf(root: IConstruct): Stack[] {
  return root.node.findAll().filter((c): c is Stack => Stack.isStack(c));
}

/** The construct path of each of the stack's own resources, by logical id. */
function constructPaths(stack: Stack): Map<string, string> {
  const paths = new Map<string, string>();
  for (const c of stack.node.findAll()) {
    if (c instanceof CfnElement && c.stack === stack) {
      paths.set(stack.resolve(c.logicalId) as string, c.node.path);
    }
  }
  return paths;
}

function stackTemplate(stack: Stack, templatePath: string): StackTemplate {
  let paths: ReadonlyMap<string, string> | undefined;
  return {
    stackName: stack.stackName,
    constructPath: stack.node.path,
    templatePath,
    region: stack.region,
    account: stack.account,
    template: JSON.parse(readFileSync(templatePath, 'utf8')) as CfnTemplate,
    dependsOn: stack.dependencies.map((d) => d.stackName),
    // Only findings name construct paths, and resolving every logical id of the stack (a
    // Lambda version's id hashes its function again) costs more than the rules themselves:
    // the map is built the first time a finding asks for it.
    get paths() {
      paths ??= constructPaths(stack);
      return paths;
    },
  };
}

/** The fleet a CDK validation plugin is asked to check. */
export function fleetFromValidation(context: IPolicyValidationContext): Fleet {
  const byPath = new Map(stacksOf(context.appConstruct).map((s) => [s.node.path, s]));
  return new Fleet(
    context.stackTemplates.flatMap((t) => {
      const stack = byPath.get(t.stackConstructPath);
      return stack ? [stackTemplate(stack, t.templatePath)] : [];
    })
  );
}

/** The fleet of an app that was synthesized into `assembly` (tests, benchmarks). */
export function fleetFromAssembly(root: IConstruct, assembly: CloudAssembly): Fleet {
  return new Fleet(
    stacksOf(root).map((stack) =>
      stackTemplate(stack, path.join(assembly.directory, stack.templateFile))
    )
  );
}
