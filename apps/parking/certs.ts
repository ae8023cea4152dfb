// Throwaway PKI for the demo stack and the connector tests: a CA, a server certificate
// for the loopback host, a client certificate for mutual TLS, and (on request) the bad
// variants that negative tests need. Generated with the `openssl` CLI into a private
// temporary directory (0700, keys 0600) that is removed by remove() or at process exit.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface CertFiles {
  /** PEM certificate path. */
  cert: string;
  /** PEM private key path (mode 0600). */
  key: string;
}

export interface NegativeVariants {
  /** A second, unrelated CA; anything it signed must be refused by a peer pinning `ca`. */
  otherCa: string;
  /** Server certificate for the right host names, signed by `otherCa`. */
  otherCaServer: CertFiles;
  /** Client certificate signed by `otherCa`. */
  otherCaClient: CertFiles;
  /** Server certificate from the right CA but for a host name nobody connects to. */
  wrongHostServer: CertFiles;
  /** Server certificate from the right CA whose validity ended yesterday. */
  expiredServer: CertFiles;
  /** Client certificate from the right CA whose validity ended yesterday. */
  expiredClient: CertFiles;
}

export interface Pki {
  /** Private directory holding every file below. */
  dir: string;
  /** PEM path of the CA that signed `server` and `client` (the one to pin). */
  ca: string;
  /** Server certificate for `localhost` and `127.0.0.1`. */
  server: CertFiles;
  /** Client certificate; its CN is the database role in PostgreSQL `cert` authentication. */
  client: CertFiles;
  /** Present when createPki() was asked for negative-test material. */
  variants?: NegativeVariants;
  /** Present when createPki() was given an auditorName: a second client certificate with that CN. */
  auditor?: CertFiles;
  /** Deletes the directory; safe to call twice. */
  remove(): void;
}

export interface PkiOptions {
  /** Parent of the private directory (default: the OS temp dir). */
  tmpRoot?: string;
  /** Common name of the client certificate (default `traceless`, the demo's database role). */
  clientName?: string;
  /** Also produce the wrong-CA, wrong-host and expired variants. */
  negativeVariants?: boolean;
  /** Also issue a client certificate with this CN (the city's read-only auditor role). */
  auditorName?: string;
}

const SERVER_HOSTS = 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1';
const VALID_DAYS = '2';

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

class PkiWriter {
  constructor(private readonly dir: string) {}

  path(name: string): string {
    return join(this.dir, name);
  }

  /** Self-signed CA with an EC P-256 key. */
  ca(name: string): string {
    const key = this.path(`${name}.key`);
    const cert = this.path(`${name}.crt`);
    openssl([
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
      '-keyout', key, '-out', cert, '-subj', `/CN=Traceless throwaway ${name}`, '-days', VALID_DAYS,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    chmodSync(key, 0o600);
    return cert;
  }

  /**
   * Leaf certificate signed by `caName`. `days` of -1 gives a certificate whose notAfter
   * lies before its notBefore, i.e. already expired.
   */
  leaf(name: string, caName: string, cn: string, usage: 'server' | 'client', days: string, altNames?: string): CertFiles {
    const key = this.path(`${name}.key`);
    const csr = this.path(`${name}.csr`);
    const cert = this.path(`${name}.crt`);
    const ext = this.path(`${name}.ext`);
    openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${cn}`]);
    chmodSync(key, 0o600);
    const lines = [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature',
      `extendedKeyUsage=${usage === 'server' ? 'serverAuth' : 'clientAuth'}`,
    ];
    if (altNames) lines.push(altNames);
    writeFileSync(ext, `${lines.join('\n')}\n`, { mode: 0o600 });
    openssl([
      'x509', '-req', '-in', csr, '-CA', this.path(`${caName}.crt`), '-CAkey', this.path(`${caName}.key`),
      '-CAcreateserial', '-days', days, '-extfile', ext, '-out', cert,
    ]);
    rmSync(csr);
    rmSync(ext);
    return { cert, key };
  }
}

/** Generates the PKI synchronously (tens of milliseconds); call once at start-up. */
export function createPki(options: PkiOptions = {}): Pki {
  const dir = mkdtempSync(join(options.tmpRoot ?? tmpdir(), 'traceless-pki-'));
  chmodSync(dir, 0o700);
  let removed = false;
  const remove = (): void => {
    if (removed) return;
    removed = true;
    process.removeListener('exit', remove);
    rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', remove);
  try {
    const writer = new PkiWriter(dir);
    const ca = writer.ca('ca');
    const server = writer.leaf('server', 'ca', 'localhost', 'server', VALID_DAYS, SERVER_HOSTS);
    const client = writer.leaf('client', 'ca', options.clientName ?? 'traceless', 'client', VALID_DAYS);
    const pki: Pki = { dir, ca, server, client, remove };
    if (options.auditorName) pki.auditor = writer.leaf('auditor', 'ca', options.auditorName, 'client', VALID_DAYS);
    if (options.negativeVariants) {
      const otherCa = writer.ca('other-ca');
      pki.variants = {
        otherCa,
        otherCaServer: writer.leaf('other-ca-server', 'other-ca', 'localhost', 'server', VALID_DAYS, SERVER_HOSTS),
        otherCaClient: writer.leaf('other-ca-client', 'other-ca', options.clientName ?? 'traceless', 'client', VALID_DAYS),
        wrongHostServer: writer.leaf('wrong-host-server', 'ca', 'db.wrong-host.invalid', 'server', VALID_DAYS, 'subjectAltName=DNS:db.wrong-host.invalid'),
        expiredServer: writer.leaf('expired-server', 'ca', 'localhost', 'server', '-1', SERVER_HOSTS),
        expiredClient: writer.leaf('expired-client', 'ca', options.clientName ?? 'traceless', 'client', '-1'),
      };
    }
    return pki;
  } catch (error) {
    remove();
    throw error;
  }
}
