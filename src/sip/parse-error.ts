// Outcome of parsing one SIP message: the message, or a coded error that tells the caller
// whether a 400/505 can be sent back (§8.2, §18.3) or the bytes must be dropped.
import type { SipMessage, SipRequest } from './message.ts';

export type SipParseErrorCode =
  | 'EMPTY'
  | 'MESSAGE_TOO_LARGE'
  | 'INCOMPLETE_HEADERS'
  | 'BAD_LINE_ENDING'
  | 'BAD_START_LINE'
  | 'BAD_VERSION'
  | 'BAD_STATUS_CODE'
  | 'BAD_REQUEST_URI'
  | 'BAD_HEADER'
  | 'TOO_MANY_HEADERS'
  | 'TOO_MANY_VIA'
  | 'BAD_VIA'
  | 'MISSING_HEADER'
  | 'DUPLICATE_HEADER'
  | 'BAD_CONTENT_LENGTH'
  | 'BAD_CSEQ'
  | 'MISMATCHED_CSEQ'
  | 'BAD_MAX_FORWARDS'
  | 'BAD_CALL_ID'
  | 'BAD_ADDRESS'
  | 'INTERNAL';

export interface SipParseError {
  readonly code: SipParseErrorCode;
  /** Short ASCII text fit for a reason phrase or Warning (§21.4.1); never echoes message content. */
  readonly reason: string;
  /**
   * True when enough of a request was read to answer it: a request with a Via and the
   * headers a response copies (§8.2.6). Responses never get answers, so are always dropped.
   */
  readonly canRespond: boolean;
  /** The status the RFC prescribes when canRespond: 505 for an unknown SIP version (§21.5.20), else 400 (§21.4.1). */
  readonly status?: 400 | 505;
  /** The request as far as it was read (headers complete, body empty), when canRespond. */
  readonly partial?: SipRequest;
}

export type ParseResult =
  | { readonly ok: true; readonly message: SipMessage }
  | { readonly ok: false; readonly error: SipParseError };
