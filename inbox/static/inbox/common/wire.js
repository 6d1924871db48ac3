/* The wire enums both surfaces read and write (contract §5). */

export const VISIBILITY = Object.freeze({
  BUSINESS: "BUSINESS", // internal notes: staff and apps only
  BUSINESS_AND_PARTICIPANT: "BUSINESS_AND_PARTICIPANT",
});

export const DIRECTION = Object.freeze({
  BUSINESS_TO_PARTICIPANT: "BUSINESS_TO_PARTICIPANT",
  PARTICIPANT_TO_BUSINESS: "PARTICIPANT_TO_BUSINESS",
});
