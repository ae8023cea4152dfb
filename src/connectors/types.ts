// What the connector layer needs from its callers, declared here so connectors depend only
// on the vault's contract: a logger (pino-compatible) and a cell to hold sensitive results.
import type { Secret, SecretKind } from '../vault/types.ts';

export interface ConnectorLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
  trace(obj: object, msg?: string): void;
}

/**
 * The call cell's secure arena as a destination for sensitive backend results.
 * The vault's cell implements it: the bytes are copied into the arena and `src` is zeroed.
 */
export interface SecretImporter {
  importSecret(kind: SecretKind, src: Uint8Array): Secret;
}

/** TLS material by file path (PEM); read once when a connector is built. */
export interface TlsFiles {
  /** The pinned CA: the only trust anchor for this backend (system roots are not used). */
  ca: string;
  /** Client certificate and key for mutual TLS. */
  cert: string;
  key: string;
  /** Name the server certificate must carry, when it differs from the host connected to. */
  servername?: string;
}

export const silentLogger: ConnectorLogger = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  debug: () => undefined,
  trace: () => undefined,
};
