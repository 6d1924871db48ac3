// The widget's availability line (inbox/static/inbox/widget/availability.js), in English and
// Portuguese. Run with `node --test tests/js/unit`.
import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";

import { setCatalog } from "../../../inbox/static/inbox/common/i18n.js";
import { availabilityText, formatDuration } from "../../../inbox/static/inbox/widget/availability.js";

afterEach(() => setCatalog(null));

describe("availabilityText", () => {
  test("online, reply within, away with and without a time", () => {
    assert.equal(availabilityText({ status: "ONLINE" }), "Online");
    assert.equal(
      availabilityText({ status: "OFFLINE", replyWithinMinutes: 30 }),
      "We usually reply within 30 minutes"
    );
    assert.equal(
      availabilityText({ status: "OFFLINE", replyWithinMinutes: 120 }),
      "We usually reply within 2 hours"
    );
    assert.equal(availabilityText({ status: "OFFLINE", replyWithinMinutes: null }), "We will reply as soon as we can");
    assert.equal(availabilityText({ status: "AWAY", backAt: null }), "Away");
    const now = new Date(2026, 2, 2, 12, 30);
    const back = new Date(2026, 2, 2, 13, 0);
    assert.match(availabilityText({ status: "AWAY", backAt: back.toISOString() }, now), /^Away, back at 1:00\sPM$/);
    const wednesday = new Date(2026, 2, 4, 9, 0);
    assert.match(availabilityText({ status: "AWAY", backAt: wednesday.toISOString() }, now), /Wednesday/);
    assert.equal(availabilityText(null), null);
  });

  test("in the catalog's language, with its plurals", () => {
    setCatalog({
      lang: "pt",
      catalog: { "We usually reply within %(time)s": "Normalmente respondemos em %(time)s" },
    });
    assert.equal(formatDuration(1), "1 minuto");
    assert.equal(
      availabilityText({ status: "OFFLINE", replyWithinMinutes: 60 }),
      "Normalmente respondemos em 1 hora"
    );
  });
});
