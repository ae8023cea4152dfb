import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isWellFormedUri, parseSipUri, unescapeUri, uriScheme, userPart } from '../../src/sip/uri.ts';

test('parses every component of a SIP URI (§19.1.1)', () => {
  const uri = parseSipUri('SIPS:alice:secr%65t@Atlanta.Example.com:5061;Transport=TCP;lr;maddr=239.255.255.1?subject=project%20x&priority=urgent');
  assert.deepEqual(uri && { ...uri, params: [...uri.params] }, {
    scheme: 'sips',
    user: 'alice',
    password: 'secret',
    host: 'atlanta.example.com',
    port: 5061,
    params: [['transport', 'TCP'], ['lr', null], ['maddr', '239.255.255.1']],
    headers: [['subject', 'project x'], ['priority', 'urgent']],
  });
  const bare = parseSipUri('sip:192.0.2.4');
  assert.deepEqual(bare && { ...bare, params: [...bare.params] }, { scheme: 'sip', host: '192.0.2.4', params: [], headers: [] });
});

test('%-escapes are resolved exactly once (RFC 4475 §3.1.1.3 esc01)', () => {
  assert.equal(userPart('sip:sips%3Auser%40example.com@example.net'), 'sips:user@example.com');
  assert.equal(userPart('sip:%75se%72@example.com'), 'user');
  const contact = parseSipUri('sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31');
  assert.equal(contact?.user, 'caller');
  assert.equal(contact?.params.get('lr'), null);
  assert.equal(contact?.params.get('name'), 'value%41'); // not "valueA"
  assert.equal(unescapeUri('value%25%34%31'), 'value%41');
  assert.equal(userPart('sip:I%20have%20spaces@example.net'), 'I have spaces');
});

test('an escaped NUL stays in the user part and does not truncate it (RFC 4475 §3.1.1.4 escnull)', () => {
  assert.equal(userPart('sip:null-%00-null@example.com'), 'null-\u0000-null');
  assert.equal(userPart('sip:%00@host5.example.com'), '\u0000');
  assert.equal(userPart('sip:%00%00@host5.example.com'), '\u0000\u0000');
  assert.notEqual(userPart('sip:%00@h.example'), userPart('sip:%00%00@h.example'));
});

test('user part may hold ; ? / and more; the password starts at the first colon (RFC 4475 §3.1.1.9, §3.1.1.2)', () => {
  assert.equal(userPart('sip:user;par=u%40example.net@example.com'), 'user;par=u@example.net');
  const odd = parseSipUri("sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com");
  assert.equal(odd?.user, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
  assert.equal(odd?.password, "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
  assert.equal(odd?.host, 'example.com');
  assert.equal(userPart('sip:+1-212-555-1234;phone-context=example.com@gw.example.com;user=phone'), '+1-212-555-1234;phone-context=example.com');
  assert.equal(userPart('sip:example.com'), undefined);
});

test('IPv6 references (RFC 5118): brackets mandatory, port outside them, three-colon bug tolerated', () => {
  assert.deepEqual([parseSipUri('sip:[2001:db8::10]')?.host, parseSipUri('sip:[2001:db8::10]')?.port], ['[2001:db8::10]', undefined]);
  // §4.3: the whole bracketed text is the address, so there is no port.
  const ambiguous = parseSipUri('sip:user@[2001:db8::10:5070]');
  assert.equal(ambiguous?.host, '[2001:db8::10:5070]');
  assert.equal(ambiguous?.port, undefined);
  const port = parseSipUri('sip:user@[2001:DB8::10]:5070');
  assert.equal(port?.host, '[2001:db8::10]');
  assert.equal(port?.port, 5070);
  assert.equal(parseSipUri('sip:[::ffff:192.0.2.10]:5060')?.host, '[::ffff:192.0.2.10]');
  // §4.10: RFC 3261's ABNF allowed "::: "; accept it as the two-colon address it means.
  assert.equal(parseSipUri('sip:[2001:db8:::192.0.2.1]')?.host, '[2001:db8::192.0.2.1]');
  assert.equal(parseSipUri('sip:[2001:db8::192.0.2.1]')?.host, '[2001:db8::192.0.2.1]');
  // §4.2: without brackets it is not a host.
  assert.equal(parseSipUri('sip:user@2001:db8::10'), undefined);
  assert.equal(parseSipUri('sip:[2001:db8::10'), undefined);
  assert.equal(parseSipUri('sip:[not-an-address]'), undefined);
});

test('malformed SIP URIs are rejected', () => {
  for (const bad of [
    'sip:', 'sip:@example.com', 'sip:user@', 'sip:user@example.com:', 'sip:user@example.com:65536', 'sip:user@example.com:5x',
    'sip:us er@example.com', 'sip:user@exa mple.com', 'sip:user@example.com; lr', 'sip:user@example.com;;lr',
    'sip:user@example.com;=x', 'sip:user@example.com;a=', 'sip:%ZZ@example.com', 'sip:a%4@example.com',
    'sip:user@example.com?', 'sip:user@example.com?noequals', 'sip:a@b@example.com', 'sip:user@1.2.3',
    'sip:user@-host.example', 'sip:<user>@example.com', 'tel:+15551234567', 'sipx:user@example.com', 'user@example.com',
  ]) {
    assert.equal(parseSipUri(bad), undefined, bad);
  }
});

test('other schemes are well formed by their characters; schemes are case-insensitive (§19.1.4, RFC 4475 §3.3.2)', () => {
  assert.equal(uriScheme('nobodyKnowsThisScheme:totallyopaquecontent'), 'nobodyknowsthisscheme');
  assert.equal(isWellFormedUri('nobodyKnowsThisScheme:totallyopaquecontent'), true);
  assert.equal(isWellFormedUri('soap.beep://192.0.2.103:3002'), true);
  assert.equal(isWellFormedUri('isbn:2983792873'), true);
  assert.equal(isWellFormedUri('http://www.example.com'), true);
  for (const bad of ['', ':x', '1sip:x', 'x:', 'http://a b', 'http://a<b', 'sip:user@example.com; lr', 'tel:%G1']) {
    assert.equal(isWellFormedUri(bad), false, bad);
  }
});

test('unescaped bytes that are not UTF-8 are kept octet for octet', () => {
  assert.equal(unescapeUri('%FF%41'), '\u00ffA');
  assert.equal(unescapeUri('%C3%A9'), 'é');
  assert.equal(unescapeUri('100%'), '100%');
});
