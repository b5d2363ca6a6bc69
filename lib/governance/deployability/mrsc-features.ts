import { MRSC_REGION_SETS, mrscRegionSetOf } from '../../../core/environment/regions';
import type { DeployabilityRule, Finding } from './rule';
import { pathOf, resourcesOf } from './template';

const DOC =
  'DynamoDB Developer Guide, "How DynamoDB global tables work", multi-Region strong consistency (MRSC)';

const regionsOf = (list: unknown, text: (v: unknown) => string): string[] =>
  Array.isArray(list) ? list.map((item) => text((item as { Region?: unknown }).Region)) : [];

/**
 * Orbit-MrscFeatures: a STRONG (MRSC) global table uses only what MRSC supports, as the
 * DynamoDB developer guide lists it: no Time to Live, no local secondary indexes, exactly three
 * Regions (three replicas, or two and a witness) from one MRSC Region set; and a witness only on
 * an MRSC table. What MRSC supports and the template cannot show is left to the code: MRSC
 * rejects the transaction APIs, which no Orbit component calls.
 */
export const mrscFeatures: DeployabilityRule = {
  id: 'Orbit-MrscFeatures',
  doc: DOC,
  check(fleet) {
    return fleet.stacks.flatMap((stack) => {
      const resolver = fleet.resolver(stack);
      const text = (v: unknown) => resolver.resolve(v)?.text ?? '';
      return resourcesOf(stack).flatMap(([logicalId, r]): Finding[] => {
        if (r.Type !== 'AWS::DynamoDB::GlobalTable') return [];
        const props = r.Properties ?? {};
        const finding = (location: string, message: string, fix: string): Finding => ({
          rule: mrscFeatures.id,
          stack,
          logicalId,
          locations: [location],
          message: `${pathOf(stack, logicalId)}: ${message} (${DOC}).`,
          fix,
        });
        const witnesses = regionsOf(props.GlobalTableWitnesses, text);
        if (text(props.MultiRegionConsistency ?? 'EVENTUAL') !== 'STRONG') {
          return witnesses.length === 0
            ? []
            : [
                finding(
                  'Properties/GlobalTableWitnesses',
                  `a witness Region (${witnesses.join(', ')}) exists only for a multi-Region strong consistency table, and this one is EVENTUAL`,
                  "Remove the witness, or set the environment's data.consistency to 'strong'."
                ),
              ];
        }
        const findings: Finding[] = [];
        const ttl = props.TimeToLiveSpecification as { Enabled?: unknown } | undefined;
        if (ttl !== undefined && text(ttl.Enabled) === 'true') {
          findings.push(
            finding(
              'Properties/TimeToLiveSpecification',
              'Time to Live is enabled, and TTL is not supported for MRSC global tables: CloudFormation cannot create the table',
              "Remove timeToLiveAttribute from the table for consistency 'strong' (expire items in the code that reads them), or use consistency 'eventual'."
            )
          );
        }
        if (Array.isArray(props.LocalSecondaryIndexes) && props.LocalSecondaryIndexes.length > 0) {
          findings.push(
            finding(
              'Properties/LocalSecondaryIndexes',
              `the table declares ${props.LocalSecondaryIndexes.length} local secondary index(es), and LSIs are not supported for MRSC global tables`,
              "Model the access pattern as a global secondary index, or use consistency 'eventual'."
            )
          );
        }
        const replicas = regionsOf(props.Replicas, text);
        const regions = [...replicas, ...witnesses];
        const shapeOk =
          (replicas.length === 3 && witnesses.length === 0) ||
          (replicas.length === 2 && witnesses.length === 1);
        if (!shapeOk) {
          findings.push(
            finding(
              'Properties/Replicas',
              `an MRSC global table is deployed in exactly three Regions, three replicas or two replicas and a witness; this one has ${replicas.length} replica(s) (${replicas.join(', ')}) and ${witnesses.length} witness(es)`,
              'List three data regions, or two and a witnessRegion, in the environment.'
            )
          );
        } else if (mrscRegionSetOf(regions) === undefined) {
          const sets = Object.entries(MRSC_REGION_SETS)
            .map(([name, set]) => `${name}: ${set.join(', ')}`)
            .join('; ');
          findings.push(
            finding(
              'Properties/Replicas',
              `its Regions (${regions.join(', ')}) span more than one MRSC Region set, and an MRSC global table cannot (${sets})`,
              'Pick the data regions and the witness from one MRSC Region set.'
            )
          );
        }
        return findings;
      });
    });
  },
};
