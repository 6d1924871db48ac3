// formatSize: the size shown on a file chip, from Wix's fileSize (bytes as an int64 string).
import assert from "node:assert/strict";
import { test } from "node:test";

import { formatSize } from "../../../inbox/static/inbox/common/content.js";

test("sizes read in the largest whole unit, one decimal under ten", () => {
  assert.equal(formatSize("0"), "0 B");
  assert.equal(formatSize("512"), "512 B");
  assert.equal(formatSize("1536"), "1.5 KB");
  assert.equal(formatSize(String(25 * 1024 * 1024)), "25 MB");
  assert.equal(formatSize(String(3 * 1024 ** 4)), "3072 GB");
});

test("unknown or malformed sizes show nothing", () => {
  for (const value of [undefined, null, "", "abc", "-5"]) assert.equal(formatSize(value), "");
});
