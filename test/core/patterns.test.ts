/*
 * The regular expressions that the editor's schema carries against the code that reads the same
 * values: a CIDR range (parseCidr), a quantity above zero (parseQuantity), a variable name that
 * says its value is secret (the word rule). Each is fed the same strings, drawn from a seeded
 * generator so that a failure repeats, near the edges of what is valid.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CIDR_PATTERN, parseCidr } from '../../lib/core/cidr';
import { isQuantity, parseQuantity, POSITIVE_QUANTITY } from '../../lib/core/quantity';
import { looksSecret, NOT_THE_SECRET, SECRET_WORDS } from '../../lib/config/prefect-schema';
import { PROJECT_ROOT } from '../helpers';

/** The pattern of secret-looking variable names in config/schema.json (its first patternProperties). */
function schemaSecretNamePattern(): RegExp {
  const text = fs.readFileSync(path.join(PROJECT_ROOT, 'config', 'schema.json'), 'utf8');
  const found = /"patternProperties": \{\s*("(?:[^"\\]|\\.)*")/.exec(text);
  if (!found) throw new Error('config/schema.json has no patternProperties');
  return new RegExp(JSON.parse(found[1] as string) as string);
}

/** mulberry32: a small seeded generator, the same sequence on every run. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function strings(seed: number, count: number, one: (random: () => number) => string): string[] {
  const random = generator(seed);
  return Array.from({ length: count }, () => one(random));
}

const pick = <T>(random: () => number, items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
const integer = (random: () => number, max: number) => Math.floor(random() * (max + 1));

function cidrCandidate(random: () => number): string {
  const octet = () =>
    random() < 0.9 ? String(integer(random, 255)) : pick(random, [String(integer(random, 300)), `0${integer(random, 99)}`, '']);
  const group = () =>
    random() < 0.9 ? integer(random, 0xffff).toString(16) : pick(random, [integer(random, 0xfffff).toString(16), '0', 'g1', '']);
  const prefix =
    random() < 0.7
      ? `/${integer(random, 32)}`
      : pick(random, [`/${integer(random, 140)}`, '/', '', `/0${integer(random, 9)}`, `/${integer(random, 128)}`]);
  if (random() < 0.45) return `${Array.from({ length: pick(random, [3, 4, 4, 4, 5]) }, octet).join('.')}${prefix}`;
  const groups = Array.from({ length: random() < 0.5 ? 8 : integer(random, 9) }, group);
  if (random() < 0.5) groups.splice(integer(random, groups.length), 0, '');
  const text = groups.join(':').replace(/^:(?!:)/, random() < 0.5 ? '::' : ':');
  return `${random() < 0.1 ? `${text}:1.2.3.4` : text}${prefix}`;
}

function quantityCandidate(random: () => number): string {
  const digits = () => pick(random, ['0', '00', '1', '10', '007', '5', '', String(integer(random, 100000))]);
  const number = pick(random, [
    digits(),
    `${digits()}.${digits()}`,
    `.${digits()}`,
    `${digits()}.`,
    `0.${pick(random, ['0', '00', '001', ''])}`,
  ]);
  const sign = pick(random, ['', '', '+', '-']);
  const tail = pick(random, ['', 'Gi', 'Mi', 'm', 'k', 'Ei', 'e3', 'E-2', 'e+0', 'gi', 'x', ' ', 'i']);
  return `${sign}${number}${tail}`;
}

/** The rule as words (the lists are the schema's: what is checked is the pattern built from them): split at "_", a secret word among them, the last word not about a secret. */
function secretByWords(name: string): boolean {
  const words = name.toUpperCase().split(/_+/).filter(Boolean);
  if (NOT_THE_SECRET.includes(words.at(-1) ?? '')) return false;
  return words.some((word) => SECRET_WORDS.includes(word));
}

function nameCandidate(random: () => number): string {
  const word = () => {
    const chosen = pick(random, [...SECRET_WORDS, ...NOT_THE_SECRET, 'PREFECT', 'API', 'DB', 'X', 'KEYRING', 'PASSWORDS', 'db-key']);
    return random() < 0.3 ? chosen.toLowerCase() : chosen;
  };
  const separator = () => pick(random, ['_', '_', '_', '__', '']);
  return `${random() < 0.1 ? '_' : ''}${Array.from({ length: 1 + integer(random, 3) }, word).join(separator())}${random() < 0.1 ? '_' : ''}`;
}

describe('the patterns of the editor schema', () => {
  it('take exactly the CIDR ranges that parseCidr reads', () => {
    const candidates = strings(1, 60_000, cidrCandidate);
    const disagree = candidates.filter((text) => CIDR_PATTERN.test(text) !== (parseCidr(text) !== undefined));
    expect(disagree).toEqual([]);
    // The corpus reaches both sides of the rule.
    expect(candidates.filter((text) => CIDR_PATTERN.test(text)).length).toBeGreaterThan(10_000);
    expect(candidates.filter((text) => !CIDR_PATTERN.test(text)).length).toBeGreaterThan(5_000);
  });

  it('take exactly the quantities above zero', () => {
    const candidates = strings(2, 60_000, quantityCandidate);
    const positive = (text: string) => isQuantity(text) && !text.startsWith('-') && parseQuantity(text) > 0;
    expect(candidates.filter((text) => POSITIVE_QUANTITY.test(text) !== positive(text))).toEqual([]);
    expect(candidates.filter(positive).length).toBeGreaterThan(5_000);
    expect(candidates.filter((text) => isQuantity(text) && !positive(text)).length).toBeGreaterThan(1_000);
  });

  it('take exactly the variable names that say their value is secret', () => {
    const candidates = strings(3, 30_000, nameCandidate);
    expect(candidates.filter((name) => looksSecret(name) !== secretByWords(name))).toEqual([]);
    // The editor's pattern, which takes no flags, in whatever case the name is written.
    const pattern = schemaSecretNamePattern();
    expect(candidates.filter((name) => pattern.test(name) !== secretByWords(name))).toEqual([]);
    expect(candidates.filter(secretByWords).length).toBeGreaterThan(3_000);
    expect(candidates.filter((name) => !secretByWords(name)).length).toBeGreaterThan(3_000);
  });
});
