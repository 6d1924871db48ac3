/* How the staff page names participants and times. The participant kinds (kind, wire key,
 * label) come from the page's config, which admin.py takes from inbox/models.py. */

import { locales } from "../common/i18n.js";

export class ParticipantKinds {
  constructor(kinds) {
    this.kinds = kinds;
  }

  label(kind) {
    const found = this.kinds.find((entry) => entry.kind === kind);
    return found ? found.label : "";
  }

  /** The label of the kind whose wire key the sender carries ("" if none does). */
  senderLabel(sender) {
    const found = this.kinds.find((entry) => sender[entry.wireKey]);
    return found ? found.label : "";
  }
}

/** The participant's name, or the label of its kind. */
export function participantName(row, kinds) {
  return row.conversation.participantDisplayData.name || kinds.label(row.participantKind);
}

/** Today: the time; earlier: the day. */
export function formatTime(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  const today = new Date();
  return date.toDateString() === today.toDateString()
    ? date.toLocaleTimeString(locales(), { hour: "2-digit", minute: "2-digit" })
    : date.toLocaleDateString(locales(), { month: "short", day: "numeric" });
}
