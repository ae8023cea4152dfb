// The admin listener: /metrics, /health/live, /health/ready. A separate listener from SIP and
// media so operators can put it on a management network. Outside loopback a bearer token is
// mandatory (the config refuses to start without one).
import { timingSafeEqual, createHash } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { httpStatus, type HealthReport } from '../observe/health.ts';

export interface AdminHttpOptions {
  address: string;
  port: number;
  /** Bearer token bytes; when set every request must carry `Authorization: Bearer <token>`. */
  token?: Buffer;
  metrics: () => Promise<{ contentType: string; body: string }>;
  liveness: () => HealthReport;
  readiness: () => HealthReport;
  /** Test-only (test-hooks.ts): POST /test/gc runs full garbage collections. */
  testGc?: () => void;
}

export interface AdminHttp {
  readonly port: number;
  close(): Promise<void>;
}

/** Coded admin errors, each with its HTTP status (fastify habit: codes callers can match on). */
export const ADMIN_ERRORS = {
  TRACELESS_ADMIN_UNAUTHORIZED: 401,
  TRACELESS_ADMIN_NOT_FOUND: 404,
} as const;

function digest(bytes: Buffer): Buffer {
  return createHash('sha256').update(bytes).digest();
}

/** Compares hashes so neither the length nor the content of the token leaks through timing. */
function tokenMatches(expected: Buffer, header: string | undefined): boolean {
  if (!header?.startsWith('Bearer ')) return false;
  return timingSafeEqual(digest(expected), digest(Buffer.from(header.slice(7))));
}

export async function startAdminHttp(options: AdminHttpOptions): Promise<AdminHttp> {
  const app: FastifyInstance = Fastify({ logger: false, bodyLimit: 1024 });

  app.addHook('onRequest', async (request, reply) => {
    if (options.token && !tokenMatches(options.token, request.headers.authorization)) {
      await reply
        .code(ADMIN_ERRORS.TRACELESS_ADMIN_UNAUTHORIZED)
        .header('www-authenticate', 'Bearer')
        .send({ code: 'TRACELESS_ADMIN_UNAUTHORIZED', message: 'a valid bearer token is required' });
    }
  });
  app.setNotFoundHandler(async (_request, reply) =>
    reply.code(ADMIN_ERRORS.TRACELESS_ADMIN_NOT_FOUND).send({ code: 'TRACELESS_ADMIN_NOT_FOUND', message: 'no such endpoint' }),
  );

  app.get('/metrics', async (_request, reply) => {
    const { contentType, body } = await options.metrics();
    return reply.type(contentType).send(body);
  });
  app.get('/health/live', async (_request, reply) => {
    const report = options.liveness();
    return reply.code(httpStatus(report)).send(report);
  });
  app.get('/health/ready', async (_request, reply) => {
    const report = options.readiness();
    return reply.code(httpStatus(report)).send(report);
  });

  if (options.testGc) {
    const gc = options.testGc;
    app.post('/test/gc', async (_request, reply) => {
      gc();
      return reply.code(204).send();
    });
  }

  await app.listen({ host: options.address, port: options.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  let closed = false;
  return {
    port,
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
    },
  };
}
