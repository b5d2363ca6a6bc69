/** One resource of a synthesized CloudFormation template: the parts the rules read. */
export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Readonly<Record<string, unknown>>;
  readonly DependsOn?: string | readonly string[];
  readonly Metadata?: Readonly<Record<string, unknown>>;
}

/** A synthesized CloudFormation template. */
export interface CfnTemplate {
  readonly Resources?: Readonly<Record<string, CfnResource>>;
  readonly Outputs?: Readonly<
    Record<string, { readonly Value?: unknown; readonly Export?: { readonly Name?: unknown } }>
  >;
}

/** One stack of the app as CloudFormation will receive it. */
export interface StackTemplate {
  /** The CloudFormation stack name. */
  readonly stackName: string;
  /** The stack's construct path (`Orbit-prod-GlobalState`). */
  readonly constructPath: string;
  /** Where the template was written (reports point at it). */
  readonly templatePath: string;
  readonly region: string;
  readonly account: string;
  readonly template: CfnTemplate;
  /** Names of the stacks this one is deployed after, directly (`addStackDependency`). */
  readonly dependsOn: readonly string[];
  /** The construct path of each resource, by logical id, when the construct tree is at hand. */
  readonly paths?: ReadonlyMap<string, string>;
}

/** The resources of a stack, as `[logicalId, resource]` pairs. */
export function resourcesOf(stack: StackTemplate): [string, CfnResource][] {
  return Object.entries(stack.template.Resources ?? {});
}

/** The construct path CDK records for a resource, or its logical id. */
export function pathOf(stack: StackTemplate, logicalId: string): string {
  const known = stack.paths?.get(logicalId);
  if (known !== undefined) return known;
  const path = stack.template.Resources?.[logicalId]?.Metadata?.['aws:cdk:path'];
  return typeof path === 'string' ? path : `${stack.constructPath}/${logicalId}`;
}

/** The `DependsOn` attribute as a list. */
export function dependsOnOf(resource: CfnResource): readonly string[] {
  const d = resource.DependsOn;
  if (d === undefined) return [];
  return typeof d === 'string' ? [d] : d;
}
