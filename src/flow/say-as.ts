// Speaking dynamic values by concatenating pre-recorded clips, so text-to-speech never
// sees a value. Returns catalogue clip ids (the caller prefixes the language).
// Every clip id used here is listed in SAY_AS_CLIPS, which the catalogue test checks.

export type Language = 'en-US' | 'es-US';
export const LANGUAGES: readonly Language[] = ['en-US', 'es-US'];

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** The clip set each language's catalogue must provide. */
export const SAY_AS_CLIPS: readonly string[] = [
  ...range(0, 100).map((n) => `num.${n}`),
  'num.un',
  ...range(1, 9).map((n) => `hundreds.${n}`),
  'thousand',
  'million',
  'millions',
  'currency.dollar',
  'currency.dollars',
  'currency.cent',
  'currency.cents',
  'currency.and',
  ...range(1, 12).map((n) => `month.${n}`),
  ...range(1, 31).map((n) => `ordinal.${n}`),
  'word.and',
  'word.of',
  'key.star',
  'key.pound',
  ...[...'ABCDEFGHIJKLMNOPQRSTUVWXYZ'].map((letter) => `letter.${letter}`),
];

/** Ten clip ids, index = digit: the table Secret.spell() maps a secret's digits onto. */
export const DIGIT_CLIPS: readonly string[] = range(0, 9).map((n) => `num.${n}`);

const MAX_NUMBER = 999_999_999;

function assertWhole(n: number, what: string, max = MAX_NUMBER): void {
  if (!Number.isInteger(n) || n < 0 || n > max) throw new RangeError(`${what} must be a whole number from 0 to ${max}`);
}

/** Digit by digit: '0'-'9', '*' and '#'. For non-sensitive values only (Secrets use spell). */
export function digitsClips(text: string): string[] {
  const clips: string[] = [];
  for (const char of text) {
    if (char >= '0' && char <= '9') clips.push(`num.${char}`);
    else if (char === '*') clips.push('key.star');
    else if (char === '#') clips.push('key.pound');
    else throw new RangeError('sayDigits takes only 0-9, * and #');
  }
  return clips;
}

/** Letters and digits one by one (a licence plate); never for secrets. */
export function charactersClips(text: string): string[] {
  return [...text.toUpperCase()].map((char) => {
    if (char >= 'A' && char <= 'Z') return `letter.${char}`;
    if (char >= '0' && char <= '9') return `num.${char}`;
    throw new RangeError('sayCharacters takes only letters and digits');
  });
}

function belowThousand(n: number, lang: Language): string[] {
  if (n <= 100) return [`num.${n}`];
  const hundreds = Math.floor(n / 100);
  const rest = n % 100;
  return rest === 0 ? [`hundreds.${hundreds}`] : [`hundreds.${hundreds}`, ...belowThousand(rest, lang)];
}

/** Cardinal numbers 0 .. 999,999,999. Spanish drops "uno" before mil and uses millón/millones. */
export function numberClips(n: number, lang: Language): string[] {
  assertWhole(n, 'sayNumber');
  if (n < 1000) return belowThousand(n, lang);
  if (n < 1_000_000) {
    const thousands = Math.floor(n / 1000);
    const rest = n % 1000;
    const head = lang === 'es-US' && thousands === 1 ? ['thousand'] : [...numberClips(thousands, lang), 'thousand'];
    return rest === 0 ? head : [...head, ...numberClips(rest, lang)];
  }
  const millions = Math.floor(n / 1_000_000);
  const rest = n % 1_000_000;
  let head: string[];
  if (lang === 'es-US') head = millions === 1 ? ['num.un', 'million'] : [...numberClips(millions, lang), 'millions'];
  else head = [...numberClips(millions, lang), 'million'];
  return rest === 0 ? head : [...head, ...numberClips(rest, lang)];
}

/** "one dollar and five cents" / "un dólar con cinco centavos". */
export function currencyClips(cents: number, lang: Language): string[] {
  assertWhole(cents, 'sayCurrency', MAX_NUMBER * 100);
  const dollars = Math.floor(cents / 100);
  const rest = cents % 100;
  const unit = (count: number, one: string, many: string): string[] =>
    count === 1 ? [lang === 'es-US' ? 'num.un' : 'num.1', one] : [...numberClips(count, lang), many];
  if (dollars === 0 && rest === 0) return ['num.0', 'currency.dollars'];
  const clips: string[] = [];
  if (dollars > 0) clips.push(...unit(dollars, 'currency.dollar', 'currency.dollars'));
  if (rest > 0) {
    if (dollars > 0) clips.push('currency.and');
    clips.push(...unit(rest, 'currency.cent', 'currency.cents'));
  }
  return clips;
}

/** Ordinals 1..31 have their own clips; Spanish uses cardinals above 10, as people say it. */
export function ordinalClips(n: number, lang: Language): string[] {
  assertWhole(n, 'sayOrdinal', 31);
  if (n === 0) throw new RangeError('sayOrdinal starts at 1');
  if (lang === 'es-US' && n > 10) return numberClips(n, lang);
  return [`ordinal.${n}`];
}

function yearClips(year: number, lang: Language): string[] {
  // US English reads 2026 as "twenty twenty-six" but 2005 as "two thousand five".
  if (lang === 'en-US' && year >= 1100 && year % 100 >= 10 && !(year >= 2000 && year < 2010)) {
    return [`num.${Math.floor(year / 100)}`, `num.${year % 100}`];
  }
  return numberClips(year, lang);
}

/** A calendar date given as YYYY-MM-DD: "October third, twenty twenty-six" / "tres de octubre de dos mil veintiséis". */
export function dateClips(isoDate: string, lang: Language): string[] {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(isoDate);
  const year = Number(match?.[1]);
  const month = Number(match?.[2]);
  const day = Number(match?.[3]);
  if (!match || month < 1 || month > 12 || day < 1 || day > 31) throw new RangeError('sayDate takes a YYYY-MM-DD date');
  if (lang === 'es-US') {
    const dayClips = day === 1 ? ['ordinal.1'] : numberClips(day, lang);
    return [...dayClips, 'word.of', `month.${month}`, 'word.of', ...numberClips(year, lang)];
  }
  return [`month.${month}`, `ordinal.${day}`, ...yearClips(year, lang)];
}
