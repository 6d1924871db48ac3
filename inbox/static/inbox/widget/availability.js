/*
 * What the widget's header says about the team (GET v2/availability): "Online", "We usually
 * reply within …" or "Away, back at …". Asked when the chat opens and every POLL_MS while it
 * is open and visible: a closed staff tab counts at once on the server, so the widget is right
 * within POLL_MS of it (and a killed server process within its presence TTL more).
 */

import { gettext, interpolate, locales } from "../common/i18n.js";

export const POLL_MS = 15000;

/** "30 minutes", "2 hours", in the widget's language (Intl knows each language's plurals). */
export function formatDuration(minutes) {
  const hours = minutes % 60 === 0 && minutes >= 60;
  return new Intl.NumberFormat(locales(), {
    style: "unit",
    unit: hours ? "hour" : "minute",
    unitDisplay: "long",
  }).format(hours ? minutes / 60 : minutes);
}

/** When the team is back: the time if it is today (in the visitor's zone), else day and time. */
export function formatBackAt(iso, now = new Date()) {
  const at = new Date(iso);
  const sameDay = at.toDateString() === now.toDateString();
  const options = sameDay
    ? { hour: "numeric", minute: "2-digit" }
    : { weekday: "long", hour: "numeric", minute: "2-digit" };
  return new Intl.DateTimeFormat(locales(), options).format(at);
}

/** The header's line for an availability (null: say nothing). */
export function availabilityText(availability, now = new Date()) {
  if (!availability) return null;
  if (availability.status === "ONLINE") return gettext("Online");
  if (availability.status === "AWAY") {
    if (!availability.backAt) return gettext("Away");
    return interpolate(gettext("Away, back at %(time)s"), { time: formatBackAt(availability.backAt, now) });
  }
  if (availability.replyWithinMinutes) {
    return interpolate(gettext("We usually reply within %(time)s"), {
      time: formatDuration(availability.replyWithinMinutes),
    });
  }
  return gettext("We will reply as soon as we can");
}
