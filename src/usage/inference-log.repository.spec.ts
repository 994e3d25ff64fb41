import { arrayLiteral } from './inference-log.repository';

describe('arrayLiteral', () => {
  it('does quote text (escaping only quotes and backslashes) and leave NULL, numbers and booleans bare', () => {
    expect(arrayLiteral(['a', '', 'NULL', 'x,{y}', 'say "hi" \\ bye', null], 'text')).toBe(
      '{"a","","NULL","x,{y}","say \\"hi\\" \\\\ bye",NULL}',
    );
    expect(arrayLiteral([1, 2.5, null], 'float4')).toBe('{1,2.5,NULL}');
    expect(arrayLiteral([true, false], 'bool')).toBe('{true,false}');
  });

  it('does send timestamps as UTC ISO strings (the same instant whatever the local zone)', () => {
    expect(arrayLiteral([new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 6))], 'timestamptz')).toBe(
      '{"2026-01-02T03:04:05.006Z"}',
    );
  });
});
