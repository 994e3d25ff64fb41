/**
 * A model folder that cannot be served. Typed so the registry can catch it, report the model as
 * down with this message and keep serving the others.
 */
export class ModelLoadError extends Error {
  constructor(
    /** The file at fault (absolute path), or the folder when no single file is. */
    readonly file: string,
    /** What is wrong with it, for people. */
    readonly reason: string,
  ) {
    super(`${file}: ${reason}`);
    this.name = 'ModelLoadError';
  }
}
