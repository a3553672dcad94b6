/**
 * Image names and tags as podman and registries accept them. Upstream's check allowed upper case,
 * which then failed late in podman; kiwibox rejects it up front.
 */
import { failWith, ok, type Result } from '../../core/result.js';

/** Path components of a repository name (OCI distribution spec), lower case only. */
const NAME = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** Checks a stash name (`NAME` in `localhost/NAME:TAG`). */
export function validateImageName(name: string, step?: string): Result<string> {
  if (NAME.test(name) && name.length <= 255) return ok(name);
  return failWith({
    step,
    reason: 'invalid-image-name',
    message: `"${name}" is not a valid image name: lower-case letters, digits and single separators (. _ - /) only`,
  });
}

/** Checks an image tag. */
export function validateTag(tag: string, step?: string): Result<string> {
  if (TAG.test(tag)) return ok(tag);
  return failWith({
    step,
    reason: 'invalid-image-tag',
    message: `"${tag}" is not a valid tag: letters, digits, _ . - (at most 128, not starting with . or -)`,
  });
}

/** The local name of a stash: `localhost/NAME:TAG`. */
export function localRef(name: string, tag: string): string {
  return `localhost/${name}:${tag}`;
}

/** Splits `NAME[:TAG]` (the seed's `--stash` value); the tag defaults to `latest`. */
export function splitNameTag(value: string): { name: string; tag: string } {
  const slash = value.lastIndexOf('/');
  const colon = value.lastIndexOf(':');
  if (colon > slash) return { name: value.slice(0, colon), tag: value.slice(colon + 1) };
  return { name: value, tag: 'latest' };
}
