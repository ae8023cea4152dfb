// Random tokens for tags (§19.3: at least 32 bits of randomness) and branches (§8.1.1.7).
import { randomBytes } from 'node:crypto';

export function randomToken(): string {
  return randomBytes(8).toString('hex');
}
