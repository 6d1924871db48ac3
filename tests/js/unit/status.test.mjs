// The staff page's status labels (inbox/static/inbox/admin/status.js): what a row's status reads
// as, in the page's language. Run with `node --test tests/js/unit`.
import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";

import { setCatalog } from "../../../inbox/static/inbox/common/i18n.js";
import { formatTime } from "../../../inbox/static/inbox/admin/format.js";
import { STATUS, currentStatus, statusLabel } from "../../../inbox/static/inbox/admin/status.js";

const HOUR = 3600 * 1000;

afterEach(() => setCatalog(null));

describe("statusLabel", () => {
  test("an open conversation has no label, a closed one says so", () => {
    assert.equal(statusLabel({ status: STATUS.OPEN }), "");
    assert.equal(statusLabel({}), "");
    assert.equal(statusLabel({ status: STATUS.CLOSED }), "Closed");
  });

  test("a snooze that has run out reads open", () => {
    const row = { status: STATUS.SNOOZED, snoozedUntil: new Date(Date.now() - HOUR).toISOString() };
    assert.equal(currentStatus(row), STATUS.OPEN);
    assert.equal(statusLabel(row), "");
  });

  test("the labels come from the page's catalog, the snooze end in its language", () => {
    setCatalog({
      lang: "pt",
      bidi: false,
      catalog: { Closed: "Fechada", "Snoozed until %(time)s": "Adiada até %(time)s" },
    });
    assert.equal(statusLabel({ status: STATUS.CLOSED }), "Fechada");
    const until = new Date(Date.now() + HOUR).toISOString();
    assert.equal(statusLabel({ status: STATUS.SNOOZED, snoozedUntil: until }), "Adiada até " + formatTime(until));
  });
});
