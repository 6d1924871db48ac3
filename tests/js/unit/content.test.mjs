// formatSize: the size shown on a file chip, from Wix's fileSize (bytes as an int64 string).
import assert from "node:assert/strict";
import { test } from "node:test";

import { formatSize, previewThumbnail } from "../../../inbox/static/inbox/common/content.js";

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

// previewThumbnail: what the staff conversation list shows beside a message's preview text.

const thumb = "https://shop.example/inbox/v2/attachments/a/thumbnail?expires=1&v=b&sig=s";

test("the first uploaded image's thumbnail, if the message has one", () => {
  const items = [{ text: "look" }, { image: { url: "https://x.example/a.png" } }, { image: { thumbnailUrl: thumb } }];
  assert.equal(previewThumbnail({ content: { basic: { items } } }), thumb);
  assert.equal(previewThumbnail({ content: { basic: { items: [{ text: "only words" }] } } }), null);
  assert.equal(previewThumbnail({ content: { card: {} } }), null);
  assert.equal(previewThumbnail(null), null);
});

test("a thumbnail link that is not http(s) is never used", () => {
  const items = [{ image: { thumbnailUrl: "javascript:alert(1)" } }];
  assert.equal(previewThumbnail({ content: { basic: { items } } }), null);
});
