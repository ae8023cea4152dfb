// Just enough of a SIP UAS over UDP for media interop tests (the real SIP stack lives in src/sip):
// 200 OK with our answer to INVITE (488 when media refuses), 200 to BYE.
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';

export async function miniUas(onInvite: (body: string) => Promise<string | null>, onBye: () => void): Promise<Socket & { port: number }> {
  const socket = createSocket('udp4');
  socket.on('message', (message, rinfo) => {
    const text = message.toString('latin1');
    const split = text.indexOf('\r\n\r\n');
    const head = split < 0 ? text : text.slice(0, split);
    const body = split < 0 ? '' : text.slice(split + 4);
    const lines = head.split('\r\n');
    const method = lines[0]!.split(' ')[0];
    const header = (...names: string[]) =>
      lines.filter((line) => names.some((name) => line.toLowerCase().startsWith(`${name.toLowerCase()}:`)));
    const reply = (status: string, sdp: string | null) => {
      const to = header('To', 't')[0] ?? 'To: <sip:ivr@127.0.0.1>';
      const response = [
        `SIP/2.0 ${status}`,
        ...header('Via', 'v'),
        ...header('From', 'f'),
        to.includes('tag=') ? to : `${to};tag=media-test`,
        ...header('Call-ID', 'i'),
        ...header('CSeq'),
        `Contact: <sip:ivr@127.0.0.1:${socket.address().port}>`,
        ...(sdp ? ['Content-Type: application/sdp'] : []),
        `Content-Length: ${sdp ? Buffer.byteLength(sdp) : 0}`,
        '',
        sdp ?? '',
      ].join('\r\n');
      socket.send(response, rinfo.port, rinfo.address);
    };
    if (method === 'INVITE') {
      void onInvite(body).then((answer) => reply(answer ? '200 OK' : '488 Not Acceptable Here', answer));
    } else if (method === 'BYE') {
      onBye();
      reply('200 OK', null);
    }
  });
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  return Object.assign(socket, { port: socket.address().port });
}
