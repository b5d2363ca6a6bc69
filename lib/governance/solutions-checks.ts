import type { IPolicyValidationContext, PolicyValidationPluginReport } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { AwsSolutionsChecks } from 'cdk-nag';

/**
 * cdk-nag's AwsSolutions pack as Orbit runs it: the same rules and acknowledgements, run
 * after the copies in Lambda's list of known runtimes are dropped.
 *
 * aws-cdk-lib adds a runtime to `lambda.Runtime.ALL` for every AwsCustomResource (its
 * provider asks `determineLatestNodeRuntime`, which builds a new `Runtime` each time): six
 * per region location, two per satellite. AwsSolutions-L1 filters and sorts that list for
 * every function, so without this the check grows with the square of the fleet. A copy has
 * the name, family and inline-code support of a runtime already listed (what
 * `runtimeEquals` compares); L1 reads only runtime names, so no finding changes.
 */
export class OrbitSolutionsChecks extends AwsSolutionsChecks {
  override validate(context: IPolicyValidationContext): PolicyValidationPluginReport {
    dropDuplicateRuntimes();
    return super.validate(context);
  }
}

/** Removes, in place, every runtime of `lambda.Runtime.ALL` equal to an earlier one. */
function dropDuplicateRuntimes(): void {
  const all = lambda.Runtime.ALL;
  const seen = new Set<string>();
  const kept = all.filter((runtime) => {
    const key = `${runtime.name}|${runtime.family}|${runtime.supportsInlineCode}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  all.splice(0, all.length, ...kept);
}
