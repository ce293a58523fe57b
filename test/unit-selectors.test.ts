// The label- and field-selector parsers shared by the sandbox's API server and the workloads subgraph
// (services/common/label-selector.ts, services/common/field-selector.ts), table-driven: what parses to what, what is
// refused with which of the API server's messages, and what matches.
import { describe, expect, it } from 'vitest';
import {
  formatLabelSelector,
  labelsMatch,
  LabelSelectorSyntaxError,
  parseLabelSelector,
  requirementsOfLabelSelector,
  type LabelRequirement,
} from '../services/common/label-selector.js';
import {
  fieldMatcher,
  FieldSelectorSyntaxError,
  parseFieldSelector,
  type FieldRequirement,
} from '../services/common/field-selector.js';

const req = (key: string, op: LabelRequirement['op'], ...values: string[]): LabelRequirement => ({ key, op, values });

describe('parseLabelSelector', () => {
  it.each<[string, LabelRequirement[]]>([
    ['', []],
    ['   ', []],
    ['x=a', [req('x', '=', 'a')]],
    ['x==a', [req('x', '=', 'a')]],
    ['x!=a', [req('x', '!=', 'a')]],
    ['x=a,y=b,z=c', [req('x', '=', 'a'), req('y', '=', 'b'), req('z', '=', 'c')]],
    ['x!=a,y=b', [req('x', '!=', 'a'), req('y', '=', 'b')]],
    ['x=', [req('x', '=', '')]],
    ['x= ', [req('x', '=', '')]],
    ['x=,z= ', [req('x', '=', ''), req('z', '=', '')]],
    [' x = a , y != b ', [req('x', '=', 'a'), req('y', '!=', 'b')]],
    ['x', [req('x', 'exists')]],
    ['!x', [req('x', '!')]],
    ['! x', [req('x', '!')]],
    ['x>1', [req('x', 'gt', '1')]],
    ['x>1,z<5', [req('x', 'gt', '1'), req('z', 'lt', '5')]],
    ['x<-3', [req('x', 'lt', '-3')]],
    ['x in (a,b)', [req('x', 'in', 'a', 'b')]],
    ['x in ( a , b )', [req('x', 'in', 'a', 'b')]],
    ['x notin (a)', [req('x', 'notin', 'a')]],
    ['app.kubernetes.io/name=web', [req('app.kubernetes.io/name', '=', 'web')]],
    [
      'kubesphere.io/workspace in (ws-1,ws-2),tier',
      [req('kubesphere.io/workspace', 'in', 'ws-1', 'ws-2'), req('tier', 'exists')],
    ],
    ['Upper_Case.ok=Value_1', [req('Upper_Case.ok', '=', 'Value_1')]],
  ])('%j', (selector, want) => {
    expect(parseLabelSelector(selector)).toEqual(want);
  });

  it.each([
    ['x=a||y=b', 'invalid label value: "a||y"'],
    ['x==a==b', "found '=', expected: ',' or 'end of string'"],
    ['=a', "found '=', expected: identifier"],
    [',x=a', "found ',', expected: identifier"],
    ['x=a,', "found '', expected: identifier"],
    ['-x=a', 'invalid label key "-x"'],
    ['x/y/z=a', 'invalid label key "x/y/z"'],
    ['Example.com/x=a', 'invalid label key "Example.com/x"'],
    [`${'k'.repeat(64)}=a`, 'invalid label key'],
    ['x=-a', 'invalid label value: "-a"'],
    [`x=${'v'.repeat(64)}`, 'invalid label value'],
    ['x>a', "for 'Gt', 'Lt' operators, the value must be an integer"],
    ['x<1.5', "for 'Gt', 'Lt' operators, the value must be an integer"],
    ['x in a', "found 'a', expected: '('"],
    ['x in (a', "found '', expected: ',', ')' or identifier"],
    ['x in (a b)', "found 'b', expected: ',', ')' or identifier"],
    ['x in ()', "for 'in', 'notin' operators, values set can't be empty"],
    ['x within (a)', "found 'within', expected: '=', '!=', '==', 'in', notin'"],
  ])('refuses %j', (selector, message) => {
    expect(() => parseLabelSelector(selector)).toThrow(LabelSelectorSyntaxError);
    expect(() => parseLabelSelector(selector)).toThrow(`unable to parse requirement: ${message}`);
  });
});

describe('labelsMatch', () => {
  const labels = { app: 'web', tier: 'front', version: '10', empty: '' };
  it.each([
    ['', true],
    ['app=web', true],
    ['app=db', false],
    ['app!=db', true],
    ['missing!=x', true], // != holds for an absent key
    ['app in (web,db)', true],
    ['app in (db)', false],
    ['missing in (x)', false],
    ['app notin (db)', true],
    ['app notin (web)', false],
    ['missing notin (x)', true],
    ['tier', true],
    ['missing', false],
    ['!missing', true],
    ['!tier', false],
    ['version>9', true], // numbers, not strings
    ['version<9', false],
    ['missing>0', false],
    ['app>0', false], // not a number: neither greater nor less
    ['empty=', true],
    ['app=web,tier=back', false],
  ])('%j → %j', (selector, want) => {
    expect(labelsMatch(parseLabelSelector(selector), labels)).toBe(want);
  });

  it('treats no labels as an empty set', () => {
    expect(labelsMatch(parseLabelSelector('!app,x notin (y)'), undefined)).toBe(true);
    expect(labelsMatch(parseLabelSelector('app'), undefined)).toBe(false);
  });

  it('does not take inherited properties for labels', () => {
    expect(labelsMatch(parseLabelSelector('constructor'), {})).toBe(false);
    expect(labelsMatch(parseLabelSelector('!toString'), {})).toBe(true);
  });
});

describe('spec.selector (matchLabels + matchExpressions)', () => {
  it.each([
    [undefined, [], ''],
    [{ matchLabels: { app: 'web' } }, [req('app', '=', 'web')], 'app=web'],
    [
      {
        matchLabels: { app: 'web' },
        matchExpressions: [
          { key: 'tier', operator: 'In', values: ['a', 'b'] },
          { key: 'env', operator: 'NotIn', values: ['dev'] },
        ],
      },
      [req('app', '=', 'web'), req('tier', 'in', 'a', 'b'), req('env', 'notin', 'dev')],
      'app=web,tier in (a,b),env notin (dev)',
    ],
    [
      {
        matchExpressions: [
          { key: 'a', operator: 'Exists' },
          { key: 'b', operator: 'DoesNotExist' },
          { key: 'c', operator: 'Bogus' },
        ],
      },
      [req('a', 'exists'), req('b', '!')],
      'a,!b',
    ],
  ])('%j', (sel, reqs, formatted) => {
    expect(requirementsOfLabelSelector(sel)).toEqual(reqs);
    expect(formatLabelSelector(sel)).toBe(formatted);
    // What formatLabelSelector writes parses back to the same requirements.
    expect(parseLabelSelector(formatted)).toEqual(reqs);
  });
});

const freq = (field: string, op: FieldRequirement['op'], value: string): FieldRequirement => ({ field, op, value });

describe('parseFieldSelector', () => {
  it.each<[string, FieldRequirement[]]>([
    ['', []],
    ['  ', []],
    ['metadata.name=web', [freq('metadata.name', '=', 'web')]],
    ['metadata.name==web', [freq('metadata.name', '=', 'web')]],
    ['status.phase!=Running', [freq('status.phase', '!=', 'Running')]],
    ['spec.nodeName=', [freq('spec.nodeName', '=', '')]],
    ['a=b,c!=d', [freq('a', '=', 'b'), freq('c', '!=', 'd')]],
    [' a = b ', [freq('a', '=', 'b')]],
    ['a=b\\,c', [freq('a', '=', 'b,c')]], // escaped separator
    ['a=b\\=c', [freq('a', '=', 'b=c')]],
    ['a=b\\\\', [freq('a', '=', 'b\\')]],
    ['a=b=c', [freq('a', '=', 'b=c')]],
  ])('%j', (selector, want) => {
    expect(parseFieldSelector(selector)).toEqual(want);
  });

  it.each(['a', 'a,b=c', '=b', '!=b', 'a=b,'])('refuses %j with the API server’s wording', (selector) => {
    expect(() => parseFieldSelector(selector)).toThrow(FieldSelectorSyntaxError);
    expect(() => parseFieldSelector(selector)).toThrow(`invalid selector: '${selector}'; can't understand '`);
  });
});

describe('fieldMatcher', () => {
  interface Pod {
    metadata: { name?: string; namespace?: string };
    spec?: { nodeName?: string };
    status?: { phase?: string };
  }
  const fields = { 'spec.nodeName': (p: Pod) => p.spec?.nodeName, 'status.phase': (p: Pod) => p.status?.phase };
  const pod: Pod = {
    metadata: { name: 'web-1', namespace: 'prod' },
    spec: { nodeName: 'node-a' },
    status: { phase: 'Running' },
  };
  const unscheduled: Pod = { metadata: { name: 'job-1' } };

  it.each([
    ['metadata.name=web-1', true, false],
    ['metadata.namespace=prod', true, false],
    ['metadata.namespace=', false, true], // cluster-scoped or unset: the empty namespace
    ['spec.nodeName=node-a', true, false],
    ['spec.nodeName=', false, true], // an absent field reads as ''
    ['spec.nodeName!=', true, false],
    ['status.phase!=Succeeded,status.phase!=Failed', true, true],
    ['metadata.name=web-1,spec.nodeName=node-b', false, false],
  ])('%j: pod %j, unscheduled %j', (selector, forPod, forUnscheduled) => {
    const match = fieldMatcher(parseFieldSelector(selector), fields);
    expect(match(pod)).toBe(forPod);
    expect(match(unscheduled)).toBe(forUnscheduled);
  });

  it('refuses a field the kind does not support', () => {
    expect(() => fieldMatcher(parseFieldSelector('spec.replicas=1'), fields)).toThrow(
      new FieldSelectorSyntaxError('field label not supported: spec.replicas'),
    );
  });
});
