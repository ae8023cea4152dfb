// The demo's throwaway PKI: built without any external binary (a fresh machine has no
// openssl CLI), and each certificate is what the TLS refusal tests rely on it being.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createPki, type Pki } from '../../apps/parking/certs.ts';

let pki: Pki;
before(() => {
  pki = createPki({ negativeVariants: true, auditorName: 'city_auditor' });
});
after(() => pki.remove());

const load = (path: string): X509Certificate => new X509Certificate(readFileSync(path));

test('PKI is created with an empty PATH: no external tool takes part', () => {
  const emptyBin = mkdtempSync(join(tmpdir(), 'traceless-nobin-'));
  try {
    const script = "import { createPki } from './apps/parking/certs.ts'; const p = createPki({ negativeVariants: true }); process.stdout.write(p.dir); p.remove();";
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: join(import.meta.dirname, '..', '..'),
      env: { PATH: emptyBin, HOME: tmpdir() },
      encoding: 'utf8',
    });
    assert.match(out, /traceless-pki-/);
  } finally {
    rmSync(emptyBin, { recursive: true, force: true });
  }
});

test('server and client certificates chain to the pinned CA with the right names and usages', () => {
  const ca = load(pki.ca);
  assert.equal(ca.ca, true);
  const server = load(pki.server.cert);
  assert.ok(server.checkIssued(ca) && server.verify(ca.publicKey));
  assert.equal(server.checkHost('localhost'), 'localhost');
  assert.equal(server.checkIP('127.0.0.1'), '127.0.0.1');
  assert.deepEqual(server.keyUsage, ['1.3.6.1.5.5.7.3.1']);
  const client = load(pki.client.cert);
  assert.ok(client.verify(ca.publicKey));
  assert.equal(client.subject, 'CN=traceless');
  assert.deepEqual(client.keyUsage, ['1.3.6.1.5.5.7.3.2']);
  assert.equal(load(pki.auditor!.cert).subject, 'CN=city_auditor');
  assert.equal(statSync(pki.server.key).mode & 0o777, 0o600);
  assert.equal(statSync(pki.dir).mode & 0o777, 0o700);
});

test('negative variants are wrong in exactly the way their names say', () => {
  const ca = load(pki.ca);
  const variants = pki.variants!;
  const other = load(variants.otherCaServer.cert);
  assert.equal(other.verify(ca.publicKey), false);
  assert.ok(other.verify(load(variants.otherCa).publicKey));
  const wrongHost = load(variants.wrongHostServer.cert);
  assert.ok(wrongHost.verify(ca.publicKey));
  assert.equal(wrongHost.checkHost('localhost'), undefined);
  for (const expired of [variants.expiredServer, variants.expiredClient]) {
    const cert = load(expired.cert);
    assert.ok(cert.verify(ca.publicKey));
    assert.ok(Date.parse(cert.validTo) < Date.now(), 'validity ended before now');
  }
});
