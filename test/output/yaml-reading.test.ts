import { describe, expect, it } from 'vitest';
import { checkYamlReading, toYaml } from '../../lib/output/yaml-text';

describe('the YAML 1.1 / 1.2 reading check', () => {
  it('fails on an unquoted yes, which kubectl reads as true', () => {
    expect(checkYamlReading('enabled: yes\n', { enabled: 'yes' })).toEqual([
      { path: 'enabled', message: 'means boolean true to YAML 1.1 readers such as kubectl, not string "yes"' },
    ]);
  });

  it('fails on a leading-zero number, which YAML 1.1 reads as octal', () => {
    expect(checkYamlReading('mode: 0755\n', { mode: '0755' })).toEqual([
      { path: 'mode', message: 'reads back as number 755 instead of string "0755" (YAML 1.2)' },
      { path: 'mode', message: 'means number 493 to YAML 1.1 readers such as kubectl, not string "0755"' },
    ]);
  });

  it('fails on a sexagesimal time, which YAML 1.1 reads as a number', () => {
    expect(checkYamlReading('window: 1:30\n', { window: '1:30' })).toEqual([
      { path: 'window', message: 'means number 90 to YAML 1.1 readers such as kubectl, not string "1:30"' },
    ]);
  });

  it.each<[string, string, unknown, string[]]>([
    [
      'on, off and y as values',
      'a: on\nb: Off\nc: y\n',
      { a: 'on', b: 'Off', c: 'y' },
      ['a: means boolean true', 'b: means boolean false', 'c: means boolean true'],
    ],
    ['on as a key', 'on: x\n', { on: 'x' }, ['on: means boolean true']],
    [
      '~ and null',
      'a: ~\nb: null\n',
      { a: '~', b: 'null' },
      ['a: reads back as object null', 'a: means object null', 'b: reads back as object null', 'b: means object null'],
    ],
    [
      '.inf and .NaN',
      'a: .inf\nb: .NaN\n',
      { a: '.inf', b: '.NaN' },
      ['a: reads back as number null', 'a: means number null', 'b: reads back as number null', 'b: means number null'],
    ],
    [
      'a date, which YAML 1.1 reads as a timestamp',
      'day: 2026-11-28\n',
      { day: '2026-11-28' },
      ['day: means the timestamp 2026-11-28T00:00:00.000Z'],
    ],
    ['digits with underscores', 'count: 1_000\n', { count: '1_000' }, ['count: means number 1000']],
    ['a merge key', '<<: x\n', { '<<': 'x' }, ['<<: is a merge key to YAML 1.1 readers']],
    ['a missing key', 'a: x\n', { a: 'x', b: 'y' }, ['b: reads back as nothing', 'b: means nothing']],
    ['an extra key', 'a: x\nb: z\n', { a: 'x' }, ['b: reads back as string "z" instead of nothing', 'b: means string "z"']],
    ['a shorter list', 'l:\n  - a\n', { l: ['a', 'b'] }, ['l: reads back as a list of 1 items instead of 2']],
    ['a longer list', 'l:\n  - a\n  - b\n', { l: ['a'] }, ['l[1]: reads back as string "b" instead of nothing', 'l[1]: means string "b"']],
    ['a mapping for a scalar', 'a:\n  b: c\n', { a: 'b' }, ['a: reads back as a mapping instead of string "b"']],
    ['an alias', 'a: &x v\nb: *x\n', { a: 'v', b: 'v' }, ['b: reads back as an alias']],
    ['two documents', 'a: x\n---\na: x\n', { a: 'x' }, ['(document): holds 2 YAML documents instead of one']],
  ])('fails on %s', (_case, text, expected, problems) => {
    const found = checkYamlReading(text, expected).map(({ path, message }) => `${path}: ${message}`);
    expect(found).toHaveLength(problems.length);
    for (const [index, problem] of problems.entries()) expect(found[index]).toContain(problem);
  });

  it('passes what the renderer writes for those same values', () => {
    const object = {
      enabled: 'yes',
      mode: '0755',
      window: '1:30',
      off: 'off',
      on: 'on',
      date: '2026-11-28',
      nothing: '~',
      infinite: '.inf',
      thousand: '1_000',
      '<<': 'merge',
      nested: { list: ['y', 'n', 'null', '0x1F', 3, 1.5, true, null], text: 'two\nlines\n' },
      real: true,
      count: 3,
    };
    const text = toYaml(object);
    expect(text).toContain("enabled: 'yes'");
    expect(checkYamlReading(text, object)).toEqual([]);
  });
});
