// Header field names: compact forms (§7.3.3, §20 and the IANA registry) and canonical
// spelling, so every layer compares names with one exact string test.

const CANONICAL_NAMES = [
  'Accept', 'Accept-Contact', 'Accept-Encoding', 'Accept-Language', 'Alert-Info', 'Allow',
  'Allow-Events', 'Authentication-Info', 'Authorization', 'Call-ID', 'Call-Info', 'Contact',
  'Content-Disposition', 'Content-Encoding', 'Content-Language', 'Content-Length',
  'Content-Type', 'CSeq', 'Date', 'Error-Info', 'Event', 'Expires', 'From', 'Identity',
  'Identity-Info', 'In-Reply-To', 'Max-Forwards', 'MIME-Version', 'Min-Expires', 'Min-SE',
  'Organization', 'P-Asserted-Identity', 'P-Preferred-Identity', 'Path', 'Priority', 'Privacy',
  'Proxy-Authenticate', 'Proxy-Authorization', 'Proxy-Require', 'RAck', 'Reason',
  'Record-Route', 'Refer-To', 'Referred-By', 'Reject-Contact', 'Replaces', 'Reply-To',
  'Request-Disposition', 'Require', 'Retry-After', 'Route', 'RSeq', 'Server', 'Service-Route',
  'Session-Expires', 'Subject', 'Subscription-State', 'Supported', 'Timestamp', 'To',
  'Unsupported', 'User-Agent', 'Via', 'Warning', 'WWW-Authenticate',
];

/** Compact forms (§7.3.3; RFC 3515 r, RFC 3892 b, RFC 3841 d, RFC 3265 o/u, RFC 4028 x, RFC 4474 y/n, RFC 3841 a/j). */
const COMPACT_FORMS: Record<string, string> = {
  a: 'Accept-Contact', b: 'Referred-By', c: 'Content-Type', d: 'Request-Disposition',
  e: 'Content-Encoding', f: 'From', i: 'Call-ID', j: 'Reject-Contact', k: 'Supported',
  l: 'Content-Length', m: 'Contact', n: 'Identity-Info', o: 'Event', r: 'Refer-To',
  s: 'Subject', t: 'To', u: 'Allow-Events', v: 'Via', x: 'Session-Expires', y: 'Identity',
};

const byLowerCase = new Map<string, string>();
for (const name of CANONICAL_NAMES) byLowerCase.set(name.toLowerCase(), name);
for (const [compact, name] of Object.entries(COMPACT_FORMS)) byLowerCase.set(compact, name);

/**
 * The canonical long form of a header name (§7.3.1: names are case-insensitive; §7.3.3:
 * compact forms are equivalent). Unknown names come back as given.
 */
export function canonicalHeaderName(name: string): string {
  return byLowerCase.get(name.toLowerCase()) ?? name;
}

/**
 * Headers whose grammar is a comma-separated list (§7.3.1), so repeated fields and
 * comma-joined values are equivalent. Not lists, though their values hold commas:
 * Authorization, Proxy-Authorization, WWW-Authenticate, Proxy-Authenticate,
 * Authentication-Info (challenge/credentials, §20.7, §20.27, §20.28, §20.44),
 * Date (§20.17), and the single-valued From, To, Call-ID, CSeq, Subject...
 */
const LIST_HEADERS = new Set([
  'Accept', 'Accept-Contact', 'Accept-Encoding', 'Accept-Language', 'Alert-Info', 'Allow',
  'Allow-Events', 'Call-Info', 'Contact', 'Content-Encoding', 'Content-Language', 'Error-Info',
  'In-Reply-To', 'P-Asserted-Identity', 'P-Preferred-Identity', 'Path', 'Proxy-Require',
  'Reason', 'Record-Route', 'Reject-Contact', 'Request-Disposition', 'Require', 'Route',
  'Service-Route', 'Supported', 'Unsupported', 'Via', 'Warning',
]);

export function isListHeader(canonical: string): boolean {
  return LIST_HEADERS.has(canonical);
}

const CANONICAL_SET = new Set(CANONICAL_NAMES);

/** Whether a field name (as stored in a message) names the given canonical header. */
export function headerNameMatches(fieldName: string, canonical: string): boolean {
  if (fieldName === canonical) return true;
  return !CANONICAL_SET.has(fieldName) && canonicalHeaderName(fieldName).toLowerCase() === canonical.toLowerCase();
}
