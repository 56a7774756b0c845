/** The output directory's default name (ignored by git), when neither a config nor DIRQL_OUTPUT_DIR names one. */
export const DEFAULT_OUTPUT_DIR = 'dirql-out';

/** `20261203T182933Z`: sortable, no characters a file system or a shell minds. */
export function utcStamp(at: Date): string {
  return at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
}
