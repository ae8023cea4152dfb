// The two-digit state codes callers key after a plate (issue 7, step 4). A contract for
// prompts, docs and tests: 01 = California (the city's own state, so it needs the fewest
// thoughts), 02 = Texas, then the remaining states and DC in alphabetical order.
export interface StateCode {
  /** What the caller keys, 1-51 (spoken and keyed as two digits: 01, 02, …). */
  code: number;
  /** USPS abbreviation, as stored on the ticket. */
  abbr: string;
  name: string;
}

const FIRST: Array<[string, string]> = [
  ['CA', 'California'],
  ['TX', 'Texas'],
];

const ALPHABETICAL: Array<[string, string]> = [
  ['AL', 'Alabama'], ['AK', 'Alaska'], ['AZ', 'Arizona'], ['AR', 'Arkansas'], ['CO', 'Colorado'],
  ['CT', 'Connecticut'], ['DE', 'Delaware'], ['DC', 'District of Columbia'], ['FL', 'Florida'],
  ['GA', 'Georgia'], ['HI', 'Hawaii'], ['ID', 'Idaho'], ['IL', 'Illinois'], ['IN', 'Indiana'],
  ['IA', 'Iowa'], ['KS', 'Kansas'], ['KY', 'Kentucky'], ['LA', 'Louisiana'], ['ME', 'Maine'],
  ['MD', 'Maryland'], ['MA', 'Massachusetts'], ['MI', 'Michigan'], ['MN', 'Minnesota'],
  ['MS', 'Mississippi'], ['MO', 'Missouri'], ['MT', 'Montana'], ['NE', 'Nebraska'], ['NV', 'Nevada'],
  ['NH', 'New Hampshire'], ['NJ', 'New Jersey'], ['NM', 'New Mexico'], ['NY', 'New York'],
  ['NC', 'North Carolina'], ['ND', 'North Dakota'], ['OH', 'Ohio'], ['OK', 'Oklahoma'], ['OR', 'Oregon'],
  ['PA', 'Pennsylvania'], ['RI', 'Rhode Island'], ['SC', 'South Carolina'], ['SD', 'South Dakota'],
  ['TN', 'Tennessee'], ['UT', 'Utah'], ['VT', 'Vermont'], ['VA', 'Virginia'], ['WA', 'Washington'],
  ['WV', 'West Virginia'], ['WI', 'Wisconsin'], ['WY', 'Wyoming'],
];

export const STATE_CODES: readonly StateCode[] = [...FIRST, ...ALPHABETICAL].map(([abbr, name], index) => ({
  code: index + 1,
  abbr,
  name,
}));

/** Phone keypad letters (ITU E.161): the digit a letter is keyed with. */
const KEYPAD: Record<string, string> = {
  A: '2', B: '2', C: '2', D: '3', E: '3', F: '3', G: '4', H: '4', I: '4', J: '5', K: '5', L: '5',
  M: '6', N: '6', O: '6', P: '7', Q: '7', R: '7', S: '7', T: '8', U: '8', V: '8', W: '9', X: '9', Y: '9', Z: '9',
};

/** 7ABC123 → 7222123: how a caller keys a plate, and the column the lookup matches on. */
export function keypadForm(plate: string): string {
  let out = '';
  for (const char of plate.toUpperCase()) out += KEYPAD[char] ?? char;
  return out;
}
