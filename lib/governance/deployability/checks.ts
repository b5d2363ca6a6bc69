import type {
  IPolicyValidationContext,
  IPolicyValidationPlugin,
  PolicyValidationPluginReport,
  PolicyViolation,
} from 'aws-cdk-lib';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import type { IConstruct } from 'constructs';
import { dependsOnCreator } from './depends-on-creator';
import { type Fleet, fleetFromAssembly, fleetFromValidation } from './fleet';
import { mrscFeatures } from './mrsc-features';
import { nameLength } from './name-length';
import { policyArns } from './policy-arns';
import type { DeployabilityRule, Finding } from './rule';

/** Every deployability rule, in the order their findings read best. */
export const DEPLOYABILITY_RULES: readonly DeployabilityRule[] = [
  dependsOnCreator,
  mrscFeatures,
  nameLength,
  policyArns,
];

/** Every finding of `rules` over `fleet`. */
export function checkFleet(fleet: Fleet, rules = DEPLOYABILITY_RULES): Finding[] {
  return rules.flatMap((rule) => rule.check(fleet));
}

/** The findings over an app synthesized into `assembly` (for tests and benchmarks). */
export function deployabilityFindings(
  root: IConstruct,
  assembly: CloudAssembly,
  rules = DEPLOYABILITY_RULES
): Finding[] {
  return checkFleet(fleetFromAssembly(root, assembly), rules);
}

/** A finding as one line: rule, resource, what is wrong, how to fix it. */
export function formatFinding(f: Finding): string {
  return `[${f.rule}] ${f.message} Fix: ${f.fix}`;
}

function violation(f: Finding): PolicyViolation {
  return {
    ruleName: f.rule,
    description: `[${f.rule}] ${f.message}`,
    fix: f.fix,
    severity: 'error',
    violatingResources: [
      f.logicalId === undefined
        ? { constructPath: f.stack.constructPath, locations: [...f.locations] }
        : {
            resourceLogicalId: f.logicalId,
            templatePath: f.stack.templatePath,
            locations: [...f.locations],
          },
    ],
  };
}

/**
 * Orbit's deployability validation, run by `cdk synth` over every stack of the app: what
 * CloudFormation and the services would reject or get wrong at deploy time and that the
 * templates already show (creation order, MRSC features, name lengths, policy ARNs). It reports
 * the way cdk-nag does, as a CDK validation plugin: synth fails with one entry per finding, the
 * resource's construct path, what is wrong and how to fix it.
 */
export class DeployabilityChecks implements IPolicyValidationPlugin {
  readonly name = 'Orbit-Deployability';
  readonly ruleIds = DEPLOYABILITY_RULES.map((r) => r.id);

  validate(context: IPolicyValidationContext): PolicyValidationPluginReport {
    const findings = checkFleet(fleetFromValidation(context));
    return { success: findings.length === 0, violations: findings.map(violation) };
  }
}
