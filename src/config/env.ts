/**
 * `${VAR}` expansion in kiwibox.yaml string values, from the environment. `$${` is a literal `${`.
 * An unset variable is an error at its exact place in the file. As in docker compose and the shell:
 * `${VAR:-default}` (`${VAR-default}`: only when unset) and `${VAR:?message}` (`${VAR?message}`),
 * an error carrying the message when VAR is unset or empty (only unset).
 */
import { type Document, isScalar, visit } from 'yaml';
import type { Failure } from '../core/result.js';

// biome-ignore lint/suspicious/noTemplateCurlyInString: the hint shows the syntax literally.
const SYNTAX_HINT = ': write ${NAME}, ${NAME:-default} or ${NAME:?message}';
const VARIABLE = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$\{([^}]*)\}?/g;

/** What `${name<op>word}` stands for; `error` when the variable is required and missing. */
function substitute(
  value: string | undefined,
  op: string | undefined,
  word: string,
): { value: string } | { error: string } {
  const missing = value === undefined || (op?.startsWith(':') === true && value === '');
  if (!missing) return { value: value as string };
  if (op?.endsWith('-')) return { value: word };
  const why = value === undefined ? 'is not set' : 'is empty';
  return { error: op?.endsWith('?') && word ? `${why}: ${word}` : why };
}

/** Expands variables in every string scalar of `doc`, in place. Returns failures for unset or malformed ones. */
export function expandEnv(options: {
  readonly doc: Document;
  readonly file: string;
  readonly text: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Collects the name of every variable referenced, set or not. */
  readonly variables?: Set<string>;
}): Failure[] {
  const { doc, file, text, env } = options;
  const failures: Failure[] = [];
  visit(doc, {
    Scalar(_key, node) {
      if (!isScalar(node) || typeof node.value !== 'string' || !node.value.includes('${')) return;
      const value = node.value;
      const start = node.range?.[0] ?? 0;
      const raw = text.slice(start, node.range?.[1] ?? start);
      const expand = (match: string, name?: string, op?: string, word?: string, bad?: string) => {
        if (match === '$${') return '${';
        // Point at the variable inside the scalar's source text when it appears there verbatim.
        const at = raw.indexOf(match);
        const location = { file, offset: at >= 0 ? start + at : start, length: match.length };
        if (name === undefined) {
          failures.push({
            reason: 'bad-variable',
            message: `malformed variable reference '${match}'${bad === undefined ? '' : SYNTAX_HINT}`,
            location,
          });
          return match;
        }
        options.variables?.add(name);
        const result = substitute(env[name], op, word ?? '');
        if ('error' in result) {
          failures.push({
            reason: 'unset-variable',
            message: `environment variable ${name} ${result.error}`,
            location,
          });
          return match;
        }
        return result.value;
      };
      node.value = value.replace(VARIABLE, expand);
    },
  });
  return failures;
}
