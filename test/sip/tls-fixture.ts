// Throwaway PKI for TLS tests, made with the openssl CLI in a temp dir; remove() deletes it.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestPki {
  readonly dir: string;
  readonly ca: Buffer;
  readonly serverCert: Buffer;
  readonly serverKey: Buffer;
  readonly clientCert: Buffer;
  readonly clientKey: Buffer;
  readonly paths: { ca: string; serverCert: string; serverKey: string; clientCert: string; clientKey: string };
  remove(): void;
}

function openssl(dir: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
}

export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'traceless-sip-tls-'));
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(dir, 'req', '-x509', ...key, '-keyout', 'ca.key', '-out', 'ca.crt', '-subj', '/CN=traceless-test-ca', '-days', '1');
  for (const [name, san] of [['server', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], ['client', 'subjectAltName=DNS:client.test']] as const) {
    writeFileSync(join(dir, `${name}.ext`), `${san}\n`);
    openssl(dir, 'req', ...key, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
    openssl(dir, 'x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '1', '-extfile', `${name}.ext`);
  }
  const paths = {
    ca: join(dir, 'ca.crt'),
    serverCert: join(dir, 'server.crt'),
    serverKey: join(dir, 'server.key'),
    clientCert: join(dir, 'client.crt'),
    clientKey: join(dir, 'client.key'),
  };
  return {
    dir,
    paths,
    ca: readFileSync(paths.ca),
    serverCert: readFileSync(paths.serverCert),
    serverKey: readFileSync(paths.serverKey),
    clientCert: readFileSync(paths.clientCert),
    clientKey: readFileSync(paths.clientKey),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
