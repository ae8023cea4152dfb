// Throwaway PKI for the demo stack and the connector tests: a CA, a server certificate
// for the loopback host, a client certificate for mutual TLS, and (on request) the bad
// variants that negative tests need. Keys come from node:crypto; certificates are built
// and signed in process with node-forge, so the demo needs no `openssl` binary on a fresh
// machine. Everything lands in a private temporary directory (0700, keys 0600) that is
// removed by remove() or at process exit.
import { createPrivateKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import forge from 'node-forge';

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

type AltName = { type: 2; value: string } | { type: 7; ip: string };

/** DNS (type 2) and IP (type 7) subjectAltName entries, RFC 5280 §4.2.1.6. */
const SERVER_HOSTS: AltName[] = [
  { type: 2, value: 'localhost' },
  { type: 7, ip: '127.0.0.1' },
  { type: 7, ip: '::1' },
];
const VALID_DAYS = 2;
const DAY_MS = 24 * 60 * 60 * 1000;

interface Issuer {
  cert: forge.pki.Certificate;
  key: KeyObject;
}

/** RSA-2048 from node:crypto (native); forge only encodes the public half into the certificate. */
function newKeyPair(): { privatePem: string; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

/**
 * sha256WithRSAEncryption over the DER TBSCertificate (RFC 5280 §4.1.1.3), signed by
 * node:crypto: forge's own RSA is pure JavaScript and ~100x slower.
 */
// forge exports getTBSCertificate but @types/node-forge does not declare it.
const { getTBSCertificate } = forge.pki as unknown as { getTBSCertificate(cert: forge.pki.Certificate): forge.asn1.Asn1 };

function signCertificate(cert: forge.pki.Certificate, key: KeyObject): void {
  cert.siginfo.algorithmOid = forge.pki.oids['sha256WithRSAEncryption']!;
  cert.signatureOid = forge.pki.oids['sha256WithRSAEncryption']!;
  const tbs = Buffer.from(forge.asn1.toDer(getTBSCertificate(cert)).getBytes(), 'binary');
  cert.signature = sign('sha256', tbs, key).toString('binary');
}

class PkiWriter {
  readonly #issuers = new Map<string, Issuer>();

  constructor(private readonly dir: string) {}

  path(name: string): string {
    return join(this.dir, name);
  }

  /** Self-signed CA. */
  ca(name: string): string {
    const keys = newKeyPair();
    const key = createPrivateKey(keys.privatePem);
    const cert = this.#certificate(keys.publicPem, `Traceless throwaway ${name}`, VALID_DAYS, [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    ]);
    cert.setIssuer(cert.subject.attributes);
    signCertificate(cert, key);
    this.#issuers.set(name, { cert, key });
    return this.#write(name, keys.privatePem, cert).cert;
  }

  /**
   * Leaf certificate signed by `caName`. Negative `days` gives a certificate whose
   * validity ended before now, i.e. already expired.
   */
  leaf(name: string, caName: string, cn: string, usage: 'server' | 'client', days: number, altNames?: AltName[]): CertFiles {
    const issuer = this.#issuers.get(caName);
    if (issuer === undefined) throw new Error(`PKI: CA ${caName} was not created first`);
    const keys = newKeyPair();
    const extensions: object[] = [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: usage === 'server', clientAuth: usage === 'client' },
    ];
    if (altNames) extensions.push({ name: 'subjectAltName', altNames });
    const cert = this.#certificate(keys.publicPem, cn, days, extensions);
    cert.setIssuer(issuer.cert.subject.attributes);
    signCertificate(cert, issuer.key);
    return this.#write(name, keys.privatePem, cert);
  }

  #certificate(publicPem: string, cn: string, days: number, extensions: object[]): forge.pki.Certificate {
    const cert = forge.pki.createCertificate();
    cert.publicKey = forge.pki.publicKeyFromPem(publicPem);
    // Positive 16-byte serial (RFC 5280 §4.1.2.2: at most 20 octets, non-negative).
    cert.serialNumber = `01${randomBytes(15).toString('hex')}`;
    const now = Date.now();
    // An expired certificate's window lies wholly in the past; a valid one starts an hour
    // back so a peer whose clock lags a little still accepts it.
    cert.validity.notBefore = new Date(days < 0 ? now + (days - 1) * DAY_MS : now - 60 * 60 * 1000);
    cert.validity.notAfter = new Date(now + days * DAY_MS);
    cert.setSubject([{ name: 'commonName', value: cn }]);
    cert.setExtensions(extensions);
    return cert;
  }

  #write(name: string, privatePem: string, cert: forge.pki.Certificate): CertFiles {
    const key = this.path(`${name}.key`);
    const certPath = this.path(`${name}.crt`);
    writeFileSync(key, privatePem, { mode: 0o600 });
    writeFileSync(certPath, forge.pki.certificateToPem(cert), { mode: 0o644 });
    return { cert: certPath, key };
  }
}

/** Generates the PKI synchronously (RSA key generation: a few hundred milliseconds); call once at start-up. */
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
        wrongHostServer: writer.leaf('wrong-host-server', 'ca', 'db.wrong-host.invalid', 'server', VALID_DAYS, [{ type: 2, value: 'db.wrong-host.invalid' }]),
        expiredServer: writer.leaf('expired-server', 'ca', 'localhost', 'server', -1, SERVER_HOSTS),
        expiredClient: writer.leaf('expired-client', 'ca', options.clientName ?? 'traceless', 'client', -1),
      };
    }
    return pki;
  } catch (error) {
    remove();
    throw error;
  }
}
