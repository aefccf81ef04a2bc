/** Thrown by the DICOM reader when a file is not an importable image; never retried. */
export class NotImportableError extends Error {
  override readonly name = 'NotImportableError';

  constructor(
    readonly reason: string,
    readonly path?: string,
  ) {
    super(path ? `${path}: ${reason}` : reason);
  }
}

/** Thrown when configuration from the environment is invalid. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}
