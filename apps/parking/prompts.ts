// Every prompt id the parking line can speak, listed statically so a test can hold both
// catalogues (prompts/en-US, prompts/es-US) and their audio to it without having to reach
// every branch in a call. Dynamic values (amounts, dates, digits, plates) are spoken from the
// say-as clip set every flow shares; those are checked with the catalogue itself.

/** Violation descriptions the catalogue has a prompt for; anything else is "parking violation". */
export const VIOLATION_PROMPTS: Readonly<Record<string, string>> = {
  'expired meter': 'violation.expired_meter',
  'street cleaning': 'violation.street_cleaning',
};
export const OTHER_VIOLATION_PROMPT = 'violation.other';

/** Prompts the runtime plays for the flow: retry notices, the agent hand-off, the fallback. */
const RUNTIME_PROMPTS = ['gather.invalid', 'gather.timeout', 'agent.transfer', 'error.apology'] as const;

export const PROMPT_IDS: readonly string[] = [
  ...RUNTIME_PROMPTS,
  'error.unavailable',
  'goodbye',
  'parking.greeting',
  'parking.language',
  'parking.main_menu',
  'parking.citation_enter',
  'parking.citation_not_found',
  'parking.citation_paid',
  'parking.ticket',
  'parking.ticket_violation',
  'parking.ticket_issued',
  'parking.ticket_amount',
  ...Object.values(VIOLATION_PROMPTS),
  OTHER_VIOLATION_PROMPT,
  'parking.plate_enter',
  'parking.state_enter',
  'parking.plate_not_found',
  'parking.plate_several',
  'parking.plate_for',
  'parking.press',
  'parking.unpaid_count',
  'parking.total_due',
  'parking.pay_menu',
  'parking.card_enter',
  'parking.expiry_enter',
  'parking.cvv_enter',
  'parking.zip_enter',
  'parking.confirm_pay',
  'parking.confirm_card',
  'parking.confirm_keys',
  'parking.payment_approved',
  'parking.confirmation_repeat',
  'parking.payment_declined',
  'parking.payment_cancelled',
  'parking.unavailable_offer',
];
