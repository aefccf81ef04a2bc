import path from 'node:path';

// A name component that is not valid UTF-8 is stored as `{hex:<its bytes>}`. A valid name of that
// same form is stored that way too, so every stored path decodes back to exactly one name on disk.
const HEX_NAME = /^\{hex:((?:[0-9a-f]{2})+)\}$/;

/** Returns a file name, as read from the folder, as a string that decodePathComponent reverses. */
export function encodePathComponent(name: Buffer): string {
  const text = name.toString('utf8');
  const roundTrips = Buffer.from(text, 'utf8').equals(name);
  if (roundTrips && !HEX_NAME.test(text)) return text;
  return `{hex:${name.toString('hex')}}`;
}

export function decodePathComponent(component: string): Buffer {
  const hex = HEX_NAME.exec(component);
  return hex ? Buffer.from(hex[1] as string, 'hex') : Buffer.from(component, 'utf8');
}

/** Joins two stored relative paths with `/`. */
export function joinRelative(parent: string, component: string): string {
  return parent === '' ? component : `${parent}/${component}`;
}

/**
 * Returns the absolute path, as bytes, of a stored relative path under `root`, so names that are
 * not valid UTF-8 reach the same file the listing found.
 */
export function absolutePathOf(root: string, relativePath: string): Buffer {
  const parts: Buffer[] = [Buffer.from(path.resolve(root), 'utf8')];
  if (relativePath !== '') {
    for (const component of relativePath.split('/')) {
      parts.push(Buffer.from('/'), decodePathComponent(component));
    }
  }
  return Buffer.concat(parts);
}
