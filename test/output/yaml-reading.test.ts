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

  it('passes what the renderer writes for those same values', () => {
    const object = { enabled: 'yes', mode: '0755', window: '1:30', off: 'off', date: '2026-11-28', real: true, count: 3 };
    const text = toYaml(object);
    expect(text).toContain("enabled: 'yes'");
    expect(checkYamlReading(text, object)).toEqual([]);
  });
});
