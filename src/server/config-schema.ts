// The one configuration file, as a zod schema. Every key is documented in docs/configuration.md.
// Secrets (keys, passwords, tokens) are never inline: they are references to a file or an
// environment variable, resolved at start by config-load.ts.
import { isIP } from 'node:net';
import { z } from 'zod';
import { LANGUAGES, type Language } from '../flow/say-as.ts';

const port = z.number().int().min(1).max(65535);
const portOrZero = z.number().int().min(0).max(65535);
const host = z.string().min(1).max(255);
const ipLiteral = z.string().refine((value) => isIP(value) !== 0, 'must be an IPv4 or IPv6 address');

/** A secret value's location: `{ file: path }` or `{ env: NAME }`. Inline strings are refused. */
export const secretRef = z.union(
  [
    z.object({ file: z.string().min(1) }).strict(),
    z.object({ env: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name') }).strict(),
  ],
  { error: 'must be { file: <path> } or { env: <NAME> }; secrets are never written inline' },
);

/** TLS material for a client connection (database, HTTPS backend, payment gateway): PEM files. */
const clientTls = z
  .object({
    /** The pinned CA: the only trust anchor for this backend. */
    caFile: z.string().min(1),
    certFile: z.string().min(1),
    keyFile: z.string().min(1),
    serverName: host.optional(),
  })
  .strict();

const sipListener = z
  .object({
    transport: z.enum(['udp', 'tcp', 'tls']),
    address: host.default('0.0.0.0'),
    port: portOrZero,
    tls: z
      .object({
        certFile: z.string().min(1),
        keyFile: z.string().min(1),
        caFile: z.string().min(1).optional(),
        requireClientCert: z.boolean().default(false),
      })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((listener, ctx) => {
    if (listener.transport === 'tls' && !listener.tls) {
      ctx.addIssue({ code: 'custom', path: ['tls'], message: 'a tls listener needs certFile and keyFile' });
    }
    if (listener.transport !== 'tls' && listener.tls) {
      ctx.addIssue({ code: 'custom', path: ['tls'], message: `tls settings on a ${listener.transport} listener` });
    }
    if (listener.tls?.requireClientCert && !listener.tls.caFile) {
      ctx.addIssue({ code: 'custom', path: ['tls', 'caFile'], message: 'requireClientCert needs caFile' });
    }
  });

const sip = z
  .object({
    listeners: z
      .array(sipListener)
      .min(1)
      .max(3)
      .superRefine((listeners, ctx) => {
        const seen = new Set<string>();
        listeners.forEach((listener, index) => {
          if (seen.has(listener.transport)) {
            ctx.addIssue({ code: 'custom', path: [index, 'transport'], message: `a second ${listener.transport} listener (one per transport)` });
          }
          seen.add(listener.transport);
        });
      }),
    /** Peers (IP or CIDR) allowed to send INVITEs without digest authentication. */
    trustedPeers: z.array(z.string().min(1)).max(1024).optional(),
    auth: z
      .object({
        realm: host,
        users: z.array(z.object({ username: z.string().min(1).max(64), password: secretRef }).strict()).max(1000),
        algorithms: z.array(z.enum(['SHA-256', 'MD5'])).min(1).default(['SHA-256', 'MD5']),
      })
      .strict()
      .optional(),
    invitesPerSecondPerSource: z.number().positive().max(10000).default(20),
    maxConnections: z.number().int().min(1).max(100000).default(2000),
    idleTimeoutSeconds: z.number().int().min(5).max(3600).default(120),
    /**
     * Our Min-SE (RFC 4028 §5): the shortest session interval a caller may ask for with
     * Session-Expires; a shorter one is answered 422 with this value. 90 is the RFC's floor.
     */
    minSessionExpiresSeconds: z.number().int().min(90).max(86400).default(90),
    /**
     * Transactions held at once. A UDP call keeps two for 32 s after they end (Timers J/I),
     * so this caps the sustained call rate at about maxTransactions / 64 calls per second.
     */
    maxTransactions: z.number().int().min(1000).max(1_000_000).default(40_000),
  })
  .strict();

const media = z
  .object({
    /** Address the RTP sockets bind to (an IP literal: sockets bind without a DNS lookup). */
    address: ipLiteral.default('0.0.0.0'),
    /** Address written in the SDP answer's c= line (the one peers send RTP to). */
    advertiseAddress: ipLiteral.optional(),
    portRange: z
      .object({ min: port, max: port })
      .strict()
      .refine((range) => range.min % 2 === 0 && range.max > range.min, {
        message: 'min must be even and max above min',
      })
      .default({ min: 20000, max: 29999 }),
    srtp: z.enum(['required', 'if-tls', 'optional']).default('if-tls'),
    inactivitySeconds: z.number().int().min(5).max(3600).default(30),
    inbandDtmf: z.boolean().default(true),
  })
  .strict();

const secretKind = z.enum(['pan', 'expiry', 'cvv', 'pin', 'account', 'zip', 'digits']);

const operation = z
  .object({
    sql: z.string().min(1).max(10000),
    /** Names for $1…$n, in order, so flows pass parameters by name. */
    params: z.array(z.string().min(1)).max(64).optional(),
    /** Column → kind: these come back into the cell's arena as Secrets, never as strings. */
    sensitiveColumns: z.record(z.string().min(1), secretKind).optional(),
  })
  .strict();

const postgresBackend = z
  .object({
    type: z.literal('postgres'),
    host,
    port: port.default(5432),
    database: z.string().min(1),
    user: z.string().min(1),
    /** Client-certificate login; required unless insecureDevelopment is set. */
    tls: clientTls.optional(),
    poolSize: z.number().int().min(1).max(100).default(4),
    connectTimeoutMs: z.number().int().min(100).max(60000).default(3000),
    queryTimeoutMs: z.number().int().min(100).max(60000).default(5000),
    statementTimeoutMs: z.number().int().min(100).max(60000).default(2000),
    operations: z.record(z.string().regex(/^[a-z][a-z0-9_.-]*$/i), operation),
  })
  .strict();

const httpsUrl = z.string().url().refine((url) => url.startsWith('https://'), 'must be an https:// URL');

const jsonFieldName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_-]{0,63}$/, 'a JSON field name (letters, digits, _ and -)');

/** One HTTPS operation: what a flow's `backend(name).query(endpoint, params)` sends and reads. */
const httpsEndpoint = z
  .object({
    method: z.enum(['GET', 'POST', 'PUT']),
    url: httpsUrl,
    /** The flow's parameters, by name: each becomes a top-level field of the JSON request body. */
    params: z.array(jsonFieldName).max(64).default([]),
    /** Field of the response object that holds the rows; absent: the body itself. */
    rows: jsonFieldName.optional(),
  })
  .strict()
  .superRefine((endpoint, ctx) => {
    if (endpoint.method === 'GET' && endpoint.params.length > 0) {
      // Parameters travel only in a body (never in a URL, where logs and proxies keep them).
      ctx.addIssue({ code: 'custom', path: ['params'], message: 'a GET sends no body: use POST or PUT to pass parameters' });
    }
    if (new Set(endpoint.params).size !== endpoint.params.length) {
      ctx.addIssue({ code: 'custom', path: ['params'], message: 'a parameter is named twice' });
    }
  });

const httpsBackend = z
  .object({
    type: z.literal('https'),
    /** The only hosts this backend may reach (egress policy). */
    allowedHosts: z.array(host).min(1),
    endpoints: z.record(z.string().regex(/^[a-z][a-z0-9_.-]*$/i), httpsEndpoint),
    tls: clientTls,
    connectTimeoutMs: z.number().int().min(100).max(60000).default(3000),
    requestTimeoutMs: z.number().int().min(100).max(60000).default(10000),
  })
  .strict();

const payment = z
  .object({
    type: z.literal('https-gateway'),
    /** The charge endpoint (authorize and capture in one step). */
    chargeUrl: httpsUrl,
    tls: clientTls,
    connectTimeoutMs: z.number().int().min(100).max(60000).default(3000),
    requestTimeoutMs: z.number().int().min(100).max(60000).default(10000),
  })
  .strict();

const language = z.enum(LANGUAGES as [Language, ...Language[]]);

/** A WAV file named in the config (relative to the config file). */
const wavPath = z.string().min(1).max(1024).refine((path) => path.endsWith('.wav'), 'must name a .wav file');

const application = z
  .object({
    /** A TypeScript (.ts) or YAML (.yaml/.yml) flow, relative to the config file. */
    flow: z.string().min(1),
    languages: z.array(language).min(1).default(['en-US']),
    agentUri: z.string().regex(/^sips?:/, 'a sip: or sips: URI'),
    backends: z.array(z.string()).default([]),
    payment: z.boolean().default(false),
    /** The audio files the flow's play(file) may name, exactly as written here; encoded once at start. */
    audio: z
      .array(wavPath)
      .max(1000)
      .default([])
      .superRefine((paths, ctx) => {
        paths.forEach((path, index) => {
          if (paths.indexOf(path) !== index) ctx.addIssue({ code: 'custom', path: [index], message: `${path} is listed twice` });
        });
      }),
  })
  .strict();

/** User recordings: each directory holds <lang>/<id>.wav; a later directory wins over an earlier one. */
const prompts = z
  .object({
    overlays: z.array(z.string().min(1).max(1024)).max(16).default([]),
  })
  .strict();

const admin = z
  .object({
    address: host.default('127.0.0.1'),
    port: portOrZero.default(9090),
    token: secretRef.optional(),
  })
  .strict();

export const configSchema = z
  .object({
    sip,
    media: media.default(media.parse({})),
    cells: z
      .object({
        max: z.number().int().min(1).max(10000).default(100),
        /** Secrets one call may hold at once (32 locked bytes each). */
        secretsPerCall: z.number().int().min(4).max(256).default(32),
      })
      .strict()
      .default({ max: 100, secretsPerCall: 32 }),
    /** Dialled number (Request-URI user part) → application name; "*" matches any number. */
    numbers: z.record(z.string().regex(/^(\*|\+?[0-9]{1,20})$/, 'digits, optional +, or *'), z.string()),
    applications: z.record(z.string(), application),
    prompts: prompts.default({ overlays: [] }),
    backends: z.record(z.string(), z.discriminatedUnion('type', [postgresBackend, httpsBackend])).default({}),
    payment: payment.optional(),
    admin: admin.default({ address: '127.0.0.1', port: 9090 }),
    log: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
        callerNumber: z.enum(['last4', 'hash']).default('last4'),
      })
      .strict()
      .default({ level: 'info', callerNumber: 'last4' }),
    drainSeconds: z.number().int().min(0).max(3600).default(30),
    /** Development only: allow a PostgreSQL backend without tls (plaintext). Loud in logs and health; HTTPS and payment always use TLS. */
    insecureDevelopment: z.boolean().default(false),
  })
  .strict();

export type TracelessConfig = z.infer<typeof configSchema>;
export type SecretRef = z.infer<typeof secretRef>;

interface LooseConfig {
  numbers?: Record<string, unknown>;
  applications?: Record<string, { backends?: unknown; payment?: unknown } | undefined>;
  backends?: Record<string, unknown>;
  payment?: unknown;
  admin?: { address?: unknown; token?: unknown };
}

/**
 * Checks that span sections (numbers → applications → backends, admin token). They run on the
 * raw document too, so a file with a schema error still gets every cross-reference problem listed.
 */
export function crossReferenceProblems(raw: unknown): Array<{ path: Array<string | number>; message: string }> {
  if (typeof raw !== 'object' || raw === null) return [];
  const config = raw as LooseConfig;
  const problems: Array<{ path: Array<string | number>; message: string }> = [];
  const applications = config.applications ?? {};
  for (const [number, app] of Object.entries(config.numbers ?? {})) {
    if (typeof app === 'string' && !Object.hasOwn(applications, app)) {
      problems.push({ path: ['numbers', number], message: `unknown application "${app}"` });
    }
  }
  for (const [name, app] of Object.entries(applications)) {
    const backends = Array.isArray(app?.backends) ? (app.backends as unknown[]) : [];
    backends.forEach((backend, index) => {
      if (typeof backend === 'string' && !Object.hasOwn(config.backends ?? {}, backend)) {
        problems.push({ path: ['applications', name, 'backends', index], message: `unknown backend "${backend}"` });
      }
    });
    if (app?.payment === true && config.payment === undefined) {
      problems.push({ path: ['applications', name, 'payment'], message: 'no payment gateway configured' });
    }
  }
  const address = config.admin?.address ?? '127.0.0.1';
  if (!['127.0.0.1', '::1', 'localhost'].includes(String(address)) && config.admin?.token === undefined) {
    problems.push({ path: ['admin', 'token'], message: 'an admin listener outside loopback needs a bearer token' });
  }
  return problems;
}
