// Trusted peers by IP or CIDR, IPv4 and IPv6 (node:net BlockList); IPv4-mapped IPv6 sources
// (::ffff:a.b.c.d, what a dual-stack socket reports) match their IPv4 entries.
import { BlockList, isIP } from 'node:net';

export class PeerListError extends Error {
  readonly code = 'SIP_BAD_PEER_ENTRY';
}

export function normaliseAddress(address: string): string {
  const unbracketed = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(unbracketed);
  return mapped?.[1] ?? unbracketed;
}

export class PeerList {
  private readonly list = new BlockList();

  /** Entries like "192.0.2.10", "198.51.100.0/24", "2001:db8::/32"; a bad one throws naming its index. */
  constructor(entries: readonly string[]) {
    entries.forEach((entry, index) => {
      const [rawAddress = '', prefixText, extra] = entry.trim().split('/');
      const address = normaliseAddress(rawAddress);
      const family = isIP(address);
      if (family === 0 || extra !== undefined) throw new PeerListError(`trusted peer #${index} is not an IP or CIDR`);
      const type = family === 4 ? 'ipv4' : 'ipv6';
      if (prefixText === undefined) {
        this.list.addAddress(address, type);
        return;
      }
      const prefix = Number(prefixText);
      if (!/^\d{1,3}$/.test(prefixText) || prefix > (family === 4 ? 32 : 128)) {
        throw new PeerListError(`trusted peer #${index} has a bad prefix length`);
      }
      this.list.addSubnet(address, prefix, type);
    });
  }

  has(address: string): boolean {
    const normal = normaliseAddress(address);
    const family = isIP(normal);
    if (family === 0) return false;
    return this.list.check(normal, family === 4 ? 'ipv4' : 'ipv6');
  }
}
