/** The kopsless release: the CLI's `version`, and the version file in the state store. */
export const KOPSLESS_VERSION = '0.1.0';
