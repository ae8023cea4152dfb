// Reads the secrets a config refers to ({ file } or { env }) at start, into Buffers that the
// server hands to TLS contexts and zeroes at shutdown. The values never pass through a string
// that we keep: file contents are read as bytes; an env var is a string Node already holds.
import { readFileSync } from 'node:fs';
import type { SecretRef } from './config-schema.ts';
import { configPath, type LoadedConfig } from './config-load.ts';

export function readSecretRef(loaded: LoadedConfig, ref: SecretRef, env: NodeJS.ProcessEnv = process.env): Buffer {
  if ('file' in ref) return readFileSync(configPath(loaded, ref.file));
  const value = env[ref.env];
  if (value === undefined) throw new Error(`environment variable ${ref.env} is not set`);
  const bytes = Buffer.alloc(Buffer.byteLength(value));
  bytes.write(value);
  return bytes;
}
