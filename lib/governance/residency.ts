import { Annotations, type IAspect, Stack, Token } from 'aws-cdk-lib';
import { CfnGlobalTable } from 'aws-cdk-lib/aws-dynamodb';
import type { IConstruct } from 'constructs';

/**
 * Residency guardrail: fails synth when a stack is deployed to, or a table replica or
 * witness is placed in, a region outside the environment's `allowedRegions`. Config
 * validation already rejects such environments; this checks what was actually synthesized,
 * so a stack added later cannot slip past the policy.
 */
export class ResidencyChecker implements IAspect {
  constructor(private readonly allowedRegions: readonly string[]) {}

  visit(node: IConstruct): void {
    if (Stack.isStack(node)) this.check(node, `stack ${node.stackName}`, node.region);
    if (node instanceof CfnGlobalTable) {
      const stack = Stack.of(node);
      // TableV2 renders its replicas lazily: resolve them to see the regions.
      const replicas = (stack.resolve(node.replicas) ?? []) as { region?: string }[];
      for (const replica of replicas) this.check(node, 'a table replica', replica.region);
      const witnesses = (stack.resolve(node.globalTableWitnesses) ?? []) as { region?: string }[];
      for (const witness of witnesses) this.check(node, 'the table witness', witness.region);
    }
  }

  private check(scope: IConstruct, what: string, region: string | undefined): void {
    if (region === undefined || Token.isUnresolved(region)) {
      Annotations.of(scope).addError(
        `[Orbit-Residency] ${what} has no explicit region; give every stack and replica an explicit region.`
      );
    } else if (!this.allowedRegions.includes(region)) {
      Annotations.of(scope).addError(
        `[Orbit-Residency] ${what} is in ${region}, outside allowedRegions (${this.allowedRegions.join(', ')}); move it or change the environment's residency policy.`
      );
    }
  }
}
