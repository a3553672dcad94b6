/**
 * JSON Schema validation of kiwibox.yaml with ajv, using the same schema editors use
 * (schema/kiwibox.schema.json), and mapping each error to the YAML node it is about.
 */
import { readFileSync } from 'node:fs';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import type { Document } from 'yaml';
import type { FailureReason } from '../core/reasons.js';
import type { Failure } from '../core/result.js';
import { locate, pointerSegments } from './yaml-ast.js';

let compiled: ValidateFunction | undefined;

/** The pattern of `$defs.duration`: its errors get a plain-words message. */
const DURATION = '^[0-9]+[smh]?$';

/** The schema as shipped in schema/ (two levels above this file, in src/ and dist/ alike). */
export function loadSchema(): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL('../../schema/kiwibox.schema.json', import.meta.url), 'utf8'));
}

function validator(): ValidateFunction {
  compiled ??= new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true }).compile(loadSchema());
  return compiled;
}

/** Ajv reports every branch of a failed `type` list or a failed `propertyNames`; keep what helps. */
function usefulErrors(errors: readonly ErrorObject[]): ErrorObject[] {
  const seen = new Set<string>();
  const kept: ErrorObject[] = [];
  for (const error of errors) {
    // `propertyNames` is reported twice: once for the pattern, once as a summary.
    if (error.keyword === 'propertyNames') continue;
    // `minLength` on an array or `minItems` on a string cannot apply; ajv skips them, but be safe.
    const id = `${error.instancePath}|${error.keyword}|${JSON.stringify(error.params)}`;
    if (seen.has(id)) continue;
    seen.add(id);
    kept.push(error);
  }
  return kept;
}

function describe(error: ErrorObject): {
  reason: FailureReason;
  message: string;
  segments: string[];
  key: boolean;
} {
  const segments = pointerSegments(error.instancePath);
  const where = segments.length ? segments.join('.') : 'the file';
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'additionalProperties':
      return {
        reason: 'unknown-key',
        message: `unknown key '${String(params.additionalProperty)}' in ${where}`,
        segments: [...segments, String(params.additionalProperty)],
        key: true,
      };
    case 'required':
      return {
        reason: 'missing-key',
        message: `${where} is missing the required key '${String(params.missingProperty)}'`,
        segments,
        key: true,
      };
    case 'pattern':
      if (params.pattern && typeof error.propertyName === 'string') {
        return {
          reason: 'invalid-value',
          message: `'${error.propertyName}' is not a valid name: ${nameRule(String(params.pattern))}`,
          segments: [...segments, error.propertyName],
          key: true,
        };
      }
      if (params.pattern === DURATION) {
        return {
          reason: 'invalid-value',
          message: `${where} must be a duration: whole seconds, or a number with s, m or h (300, 90s, 5m)`,
          segments,
          key: false,
        };
      }
      return {
        reason: 'invalid-value',
        message: `${where} must match ${String(params.pattern)}`,
        segments,
        key: false,
      };
    case 'enum':
      return {
        reason: 'invalid-value',
        message: `${where} must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`,
        segments,
        key: false,
      };
    case 'const':
      return {
        reason: 'invalid-value',
        message: `${where} must be ${JSON.stringify(params.allowedValue)}`,
        segments,
        key: false,
      };
    case 'type':
      return {
        reason: 'wrong-type',
        message: `${where} must be ${String(params.type).replace(',', ' or ')}`,
        segments,
        key: false,
      };
    default:
      return {
        reason: 'invalid-value',
        message: `${where} ${error.message ?? 'is invalid'}`,
        segments,
        key: false,
      };
  }
}

function nameRule(pattern: string): string {
  return pattern.startsWith('^[a-z0-9]+')
    ? 'image names are lower-case letters and digits, separated by single . _ or -'
    : 'use letters, digits, . _ and -, starting with a letter or digit';
}

/** Validates `value` (the document as plain data); failures point into `doc`. */
export function validateSchema(options: {
  readonly doc: Document;
  readonly value: unknown;
  readonly file: string;
}): Failure[] {
  const validate = validator();
  if (validate(options.value)) return [];
  return usefulErrors(validate.errors ?? []).map((error) => {
    const { reason, message, segments, key } = describe(error);
    const span = locate(options.doc, segments, key);
    return { reason, message, location: { file: options.file, ...span } };
  });
}
