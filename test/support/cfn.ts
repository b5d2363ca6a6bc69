/**
 * Reads the SDK call an AwsCustomResource will make (its `Create`/`Update` property, a JSON
 * string that CloudFormation joins at deploy time). References become readable placeholders:
 * `{Ref:Logical}` and `{GetAtt:Logical.Attr}`.
 */
export function sdkCall(property: unknown): Record<string, any> | undefined {
  if (property === undefined) return undefined;
  if (typeof property === 'string') return JSON.parse(property);
  const join = (property as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (!join) throw new Error(`not a joined SDK call: ${JSON.stringify(property)}`);
  const text = join[1]
    .map((part) => {
      if (typeof part === 'string') return part;
      const p = part as { Ref?: string; 'Fn::GetAtt'?: string[] };
      if (p.Ref) return `{Ref:${p.Ref}}`;
      if (p['Fn::GetAtt']) return `{GetAtt:${p['Fn::GetAtt'].join('.')}}`;
      return JSON.stringify(part).replace(/"/g, "'");
    })
    .join(join[0]);
  return JSON.parse(text);
}
