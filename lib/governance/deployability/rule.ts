import type { Fleet } from './fleet';
import type { StackTemplate } from './template';

/** One violation of a deployability rule: where, what is wrong, how to fix it. */
export interface Finding {
  /** The rule id, e.g. `Orbit-DependsOnCreator`. */
  readonly rule: string;
  readonly stack: StackTemplate;
  /** The resource; none when the finding is about the stack itself. */
  readonly logicalId?: string;
  /** Where in the resource, e.g. `Properties/FunctionName`. */
  readonly locations: readonly string[];
  /** What is wrong, and the AWS documentation that says so. */
  readonly message: string;
  /** How to fix it. */
  readonly fix: string;
}

/**
 * A small named check over the synthesized fleet, in the manner of a cdk-nag rule: one
 * concern, one finding per violation, the AWS documentation it follows named in `doc`.
 */
export interface DeployabilityRule {
  readonly id: string;
  /** The AWS documentation the rule follows. */
  readonly doc: string;
  check(fleet: Fleet): Finding[];
}
