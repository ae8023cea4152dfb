// Client TLS options shared by every connector: a pinned CA, a client certificate,
// TLS 1.2 or newer, and node's default host-name check (verify-full). There is no switch
// to turn verification off; the only escape is a connector's explicit plaintext
// `insecureDevelopment` mode, which never coexists with TLS options.
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { ConnectorConfigError } from './errors.ts';
import type { TlsFiles } from './types.ts';

export const MIN_TLS_VERSION = 'TLSv1.2';

export interface ClientTlsMaterial {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
  servername?: string;
}

function readPem(path: string, configPath: string): Buffer {
  if (typeof path !== 'string' || path.length === 0) throw new ConnectorConfigError(configPath, 'a PEM file path is required');
  try {
    return readFileSync(path);
  } catch {
    throw new ConnectorConfigError(configPath, 'cannot read the file');
  }
}

/** Reads the PEM files; `configPath` prefixes the key named in a config error. */
export function loadTlsMaterial(files: TlsFiles | undefined, configPath: string): ClientTlsMaterial {
  if (!files) throw new ConnectorConfigError(configPath, 'TLS settings (ca, cert, key) are required');
  const material: ClientTlsMaterial = {
    ca: readPem(files.ca, `${configPath}.ca`),
    cert: readPem(files.cert, `${configPath}.cert`),
    key: readPem(files.key, `${configPath}.key`),
  };
  if (files.servername !== undefined) material.servername = files.servername;
  return material;
}

/** Options for tls.connect: verification stays at node's defaults (on, with host-name check). */
export function clientTlsOptions(material: ClientTlsMaterial): ConnectionOptions {
  const options: ConnectionOptions = {
    ca: [material.ca],
    cert: material.cert,
    key: material.key,
    minVersion: MIN_TLS_VERSION,
  };
  if (material.servername !== undefined) options.servername = material.servername;
  return options;
}
