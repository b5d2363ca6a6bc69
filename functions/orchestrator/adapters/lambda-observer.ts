import { GetAliasCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { LIVE_ALIAS } from '../../../core/names';
import type { ObservedTraffic, RegionObserver } from '../ports';
import { type AwsAdapterOptions, createLambdaClient, perRegion } from './aws-clients';

/**
 * Reads a region location's `live` aliases (GetAlias) and maps their versions back to the
 * releases staged there, for the drift job: the orchestrator believes it set `desired`,
 * this says what Lambda actually routes.
 */
export class LambdaTrafficObserver implements RegionObserver {
  private readonly lambdaFor: (region: string) => LambdaClient;

  constructor(private readonly options: AwsAdapterOptions) {
    this.lambdaFor = options.lambdaFor ?? perRegion((region) => createLambdaClient(region));
  }

  async observe(
    locationId: string,
    desired: { stable: string; candidate?: string }
  ): Promise<ObservedTraffic> {
    const { stagedReleases } = this.options.records;
    const stable = await stagedReleases.functionsAt(locationId, desired.stable);
    const candidate = desired.candidate
      ? await stagedReleases.functionsAt(locationId, desired.candidate)
      : {};
    const lambda = this.lambdaFor(this.options.regionOf(locationId));
    const unknown: string[] = [];
    let weight = 0;
    for (const [name, s] of Object.entries(stable)) {
      const alias = await lambda.send(
        new GetAliasCommand({ FunctionName: s.functionName, Name: LIVE_ALIAS })
      );
      const extra = Object.entries(alias.RoutingConfig?.AdditionalVersionWeights ?? {});
      const c = candidate[name];
      if (alias.FunctionVersion === s.version && extra.length === 0) continue;
      if (c && alias.FunctionVersion === c.version && extra.length === 0) {
        weight = 1;
        continue;
      }
      if (
        c &&
        alias.FunctionVersion === s.version &&
        extra.length === 1 &&
        extra[0]?.[0] === c.version
      ) {
        weight = Math.max(weight, extra[0]?.[1] ?? 0);
        continue;
      }
      unknown.push(
        `${s.functionName} → ${alias.FunctionVersion}${extra.map(([v, w]) => ` + ${v}@${w}`).join('')}`
      );
    }
    return {
      stable: desired.stable,
      ...(weight > 0 && desired.candidate ? { candidate: desired.candidate } : {}),
      weight,
      unknown,
    };
  }
}
