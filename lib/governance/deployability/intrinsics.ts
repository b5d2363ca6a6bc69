import type { StackTemplate } from './template';

/** A template value read as text, as far as synth can know it. */
export interface Resolved {
  /**
   * The value as CloudFormation will pass it, with `«stack/logicalId»` (or `«stack/logicalId.Attr»`)
   * where only the deployment knows it (a generated name, a version number).
   */
  readonly text: string;
  /** Resources of the same stack the value refers to (`Ref`, `Fn::GetAtt`, `Fn::Sub`). */
  readonly refs: ReadonlySet<string>;
}

/** True when `text` holds no part that only the deployment knows. */
export function isLiteral(text: string): boolean {
  return !text.includes('«');
}

/** A template value with its intrinsic functions, as CDK writes them. */
type Intrinsic = Readonly<Record<string, unknown>>;

const PSEUDO_PREFIX = 'AWS::';

function intrinsicKey(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const keys = Object.keys(value);
  const [key] = keys;
  return keys.length === 1 && key !== undefined && (key === 'Ref' || key.startsWith('Fn::'))
    ? key
    : undefined;
}

/** True when `value` is a `Ref` or `Fn::*` intrinsic function. */
export function isIntrinsic(value: unknown): value is Intrinsic {
  return intrinsicKey(value) !== undefined;
}

/** The partition of a region (Orbit's regions are commercial ones, but say what is known). */
export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

/** Every logical id `value` refers to, found by reading it (no resolution). */
export function collectRefs(value: unknown, into: Set<string>): Set<string> {
  if (Array.isArray(value)) {
    for (const v of value) collectRefs(v, into);
  } else if (typeof value === 'object' && value !== null) {
    const v = value as Intrinsic;
    if (typeof v.Ref === 'string' && !v.Ref.startsWith(PSEUDO_PREFIX)) into.add(v.Ref);
    const getAtt = v['Fn::GetAtt'];
    if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') into.add(getAtt[0]);
    if (typeof getAtt === 'string') into.add(getAtt.split('.')[0] as string);
    const sub = v['Fn::Sub'];
    const subText = Array.isArray(sub) ? sub[0] : sub;
    if (typeof subText === 'string') {
      for (const m of subText.matchAll(/\$\{([^!}][^}.]*)(\.[^}]*)?\}/g)) {
        const id = m[1] as string;
        const vars = Array.isArray(sub) ? (sub[1] as Record<string, unknown> | undefined) : {};
        if (!id.startsWith(PSEUDO_PREFIX) && !(vars && id in vars)) into.add(id);
      }
    }
    for (const child of Object.values(v)) collectRefs(child, into);
  }
  return into;
}

/** Looks up the value an export of another stack resolves to. */
export type ExportLookup = (exportName: string) => Resolved | undefined;

/**
 * Reads a stack's template values as text: pseudo parameters become the stack's region and
 * account, references to resources with a known physical name become that name or ARN (a
 * function's `Arn` is `arn:aws:lambda:REGION:ACCOUNT:function:NAME`, the way CloudFormation
 * returns it), the rest stay markers. Two values that name the same thing read the same.
 */
export class Resolver {
  private readonly physicalIds = new Map<string, string>();
  private readonly inProgress = new Set<string>();
  private readonly sdkCalls = new Map<string, Record<string, unknown> | undefined>();

  constructor(
    private readonly stack: StackTemplate,
    private readonly lookupExport: ExportLookup = () => undefined
  ) {}

  /** The stack this resolver reads. */
  get of(): StackTemplate {
    return this.stack;
  }

  /** `value` as text, or undefined when it is neither a scalar nor an intrinsic function. */
  resolve(value: unknown): Resolved | undefined {
    const refs = new Set<string>();
    const result = this.any(value, refs);
    if (result === undefined) return undefined;
    return { text: Array.isArray(result) ? result.join(',') : result, refs };
  }

  /** A marker for what only the deployment knows. */
  marker(id: string): string {
    return `«${this.stack.stackName}/${id}»`;
  }

  private get partition(): string {
    return partitionOf(this.stack.region);
  }

  private arn(service: string, resource: string, region = this.stack.region): string {
    return `arn:${this.partition}:${service}:${region}:${this.stack.account}:${resource}`;
  }

  private any(value: unknown, refs: Set<string>): string | string[] | undefined {
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    if (Array.isArray(value)) return value.map((v) => this.text(v, refs));
    const key = intrinsicKey(value);
    if (key === undefined) return undefined;
    const arg = (value as Intrinsic)[key];
    switch (key) {
      case 'Ref':
        return typeof arg === 'string' ? this.ref(arg, refs) : this.unknown(value, refs);
      case 'Fn::GetAtt': {
        const [id, ...attr] = Array.isArray(arg) ? arg : String(arg).split('.');
        return typeof id === 'string' ? this.getAtt(id, attr.join('.'), refs) : undefined;
      }
      case 'Fn::Join': {
        const [sep, list] = arg as [unknown, unknown];
        const parts = this.any(list, refs);
        return Array.isArray(parts) ? parts.join(String(sep)) : this.unknown(value, refs);
      }
      case 'Fn::Sub':
        return this.sub(arg, refs);
      case 'Fn::Select': {
        const [index, list] = arg as [unknown, unknown];
        const items = this.any(list, refs);
        const picked = Array.isArray(items) ? items[Number(index)] : undefined;
        return picked ?? this.unknown(value, refs);
      }
      case 'Fn::Split': {
        const [sep, source] = arg as [unknown, unknown];
        const text = this.text(source, refs);
        return isLiteral(text) ? text.split(String(sep)) : this.unknown(value, refs);
      }
      case 'Fn::ImportValue': {
        const imported = typeof arg === 'string' ? this.lookupExport(arg) : undefined;
        return imported?.text ?? this.unknown(value, refs);
      }
      default:
        return this.unknown(value, refs);
    }
  }

  private text(value: unknown, refs: Set<string>): string {
    const r = this.any(value, refs);
    if (r === undefined) return this.unknown(value, refs);
    return Array.isArray(r) ? r.join(',') : r;
  }

  private unknown(value: unknown, refs: Set<string>): string {
    collectRefs(value, refs);
    return this.marker('?');
  }

  private sub(arg: unknown, refs: Set<string>): string {
    const [template, vars] = Array.isArray(arg) ? arg : [arg, {}];
    const bindings = (vars ?? {}) as Record<string, unknown>;
    return String(template).replace(/\$\{([^}]*)\}/g, (whole, name: string) => {
      if (name.startsWith('!')) return `\${${name.slice(1)}}`;
      if (name in bindings) return this.text(bindings[name], refs);
      const [id, ...attr] = name.split('.');
      if (id === undefined) return whole;
      return attr.length > 0 ? this.getAtt(id, attr.join('.'), refs) : this.ref(id, refs);
    });
  }

  private ref(id: string, refs: Set<string>): string {
    switch (id) {
      case 'AWS::Partition':
        return this.partition;
      case 'AWS::Region':
        return this.stack.region;
      case 'AWS::AccountId':
        return this.stack.account;
      case 'AWS::URLSuffix':
        return this.partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com';
      case 'AWS::StackName':
        return this.stack.stackName;
      case 'AWS::NoValue':
        return '';
    }
    if (!this.stack.template.Resources?.[id]) return this.marker(id);
    refs.add(id);
    return this.physicalId(id, refs);
  }

  /** What `Ref` returns for a resource: its name, ARN or id, by type. */
  private physicalId(id: string, refs: Set<string>): string {
    const known = this.physicalIds.get(id);
    if (known !== undefined) return known;
    if (this.inProgress.has(id)) return this.marker(id);
    this.inProgress.add(id);
    const result = this.computePhysicalId(id, refs);
    this.inProgress.delete(id);
    this.physicalIds.set(id, result);
    return result;
  }

  private computePhysicalId(id: string, refs: Set<string>): string {
    const resource = this.stack.template.Resources?.[id];
    const props = resource?.Properties ?? {};
    const prop = (name: string) =>
      props[name] === undefined ? this.marker(id) : this.text(props[name], refs);
    switch (resource?.Type) {
      case 'AWS::Lambda::Function':
        return prop('FunctionName');
      case 'AWS::DynamoDB::GlobalTable':
      case 'AWS::DynamoDB::Table':
        return prop('TableName');
      case 'AWS::Logs::LogGroup':
        return prop('LogGroupName');
      case 'AWS::IAM::Role':
        return prop('RoleName');
      case 'AWS::Lambda::Version':
        return `${this.functionArn(props.FunctionName, refs)}:${this.marker(`${id}.Version`)}`;
      case 'AWS::Lambda::Alias':
        return `${this.functionArn(props.FunctionName, refs)}:${prop('Name')}`;
    }
    if (
      resource?.Type.startsWith('Custom::') ||
      resource?.Type === 'AWS::CloudFormation::CustomResource'
    ) {
      const call = this.sdkCall(props.Create) ?? this.sdkCall(props.Update);
      const physical = (call?.physicalResourceId as { id?: unknown } | undefined)?.id;
      if (typeof physical === 'string') return physical;
    }
    return this.marker(id);
  }

  private getAtt(id: string, attr: string, refs: Set<string>): string {
    const resource = this.stack.template.Resources?.[id];
    if (!resource) return this.marker(`${id}.${attr}`);
    refs.add(id);
    const name = () => this.physicalId(id, refs);
    switch (`${resource.Type}.${attr}`) {
      case 'AWS::Lambda::Function.Arn':
        return this.arn('lambda', `function:${name()}`);
      case 'AWS::DynamoDB::GlobalTable.Arn':
      case 'AWS::DynamoDB::Table.Arn':
        return this.arn('dynamodb', `table/${name()}`);
      case 'AWS::Logs::LogGroup.Arn':
        return this.arn('logs', `log-group:${name()}:*`);
      case 'AWS::SQS::Queue.Arn':
      case 'AWS::SQS::Queue.QueueName': {
        const queueName = resource.Properties?.QueueName;
        const text = queueName === undefined ? this.marker(id) : this.text(queueName, refs);
        return attr === 'Arn' ? this.arn('sqs', text) : text;
      }
      case 'AWS::IAM::Role.Arn': {
        const path = resource.Properties?.Path;
        const prefix = path === undefined ? '' : this.text(path, refs).replace(/^\//, '');
        return `arn:${this.partition}:iam::${this.stack.account}:role/${prefix}${name()}`;
      }
      default:
        return this.marker(`${id}.${attr}`);
    }
  }

  private functionArn(functionName: unknown, refs: Set<string>): string {
    const name = this.text(functionName, refs);
    return name.startsWith('arn:') ? name : this.arn('lambda', `function:${name}`);
  }

  /**
   * The SDK call an AwsCustomResource property describes (`Create`, `Update`: a JSON
   * string, joined by CloudFormation), with references read as text.
   */
  sdkCall(property: unknown): Record<string, unknown> | undefined {
    if (property === undefined) return undefined;
    return this.parseSdkCall(this.text(property, new Set()));
  }

  /**
   * The SDK call `text` holds (JSON), or undefined. Several rules read the same calls, and
   * a call carries a whole release manifest: each text is parsed once per stack. The result
   * is shared: read it, never change it.
   */
  parseSdkCall(text: string): Record<string, unknown> | undefined {
    if (this.sdkCalls.has(text)) return this.sdkCalls.get(text);
    let call: Record<string, unknown> | undefined;
    try {
      const parsed: unknown = JSON.parse(text);
      call =
        typeof parsed === 'object' && parsed !== null
          ? (parsed as Record<string, unknown>)
          : undefined;
    } catch {
      call = undefined;
    }
    this.sdkCalls.set(text, call);
    return call;
  }
}
