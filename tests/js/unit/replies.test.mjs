// Saved replies and keyboard shortcuts on the staff page (inbox/static/inbox/admin/replies.js,
// shortcuts.js): placeholder filling, filtering as one types, the "/" query, which keys are
// shortcuts. Run with `node --test tests/js/unit`.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { fillPlaceholders, filterReplies, slashQuery } from "../../../inbox/static/inbox/admin/replies.js";
import { SHORTCUTS, isTyping, shortcutAction } from "../../../inbox/static/inbox/admin/shortcuts.js";

describe("fillPlaceholders", () => {
  test("{name} is the name, {first_name} its first word", () => {
    assert.equal(fillPlaceholders("Hi {first_name}! ({name})", "Ana Maria Silva"), "Hi Ana! (Ana Maria Silva)");
    assert.equal(fillPlaceholders("{ name }, {first_name}", "  Bo  "), "Bo, Bo");
  });

  test("an unknown name takes the fallback, or goes with the space before it", () => {
    assert.equal(fillPlaceholders("Hi {first_name|there}, thanks", ""), "Hi there, thanks");
    assert.equal(fillPlaceholders("Hi {first_name}, thanks", ""), "Hi, thanks");
    assert.equal(fillPlaceholders("Hi {name}!\n{name|}", null), "Hi!\n");
    assert.equal(fillPlaceholders("Dear\n{name} x", "   "), "Dear\n x");
  });

  test("a known name ignores the fallback", () => {
    assert.equal(fillPlaceholders("Hi {first_name|there}", "Kim Lee"), "Hi Kim");
  });

  test("anything else in braces is left as written", () => {
    const text = "Order {order_id} {Name} {name|a{b}} {{name}";
    assert.equal(fillPlaceholders(text, "Kim"), "Order {order_id} {Name} {name|a{b}} {Kim");
  });

  test("a name that looks like a placeholder or a replacement pattern is inserted as is", () => {
    assert.equal(fillPlaceholders("Hi {name}", "$& {first_name}"), "Hi $& {first_name}");
  });
});

describe("filterReplies", () => {
  const replies = [
    { title: "Opening hours", text: "We open at 9." },
    { title: "Refund policy", text: "Refunds take five days." },
    { title: "Shipping", text: "Refunds for lost parcels: see the policy." },
    { title: "Ação rápida", text: "Olá" },
  ];
  const titles = (list) => list.map((reply) => reply.title);

  test("an empty query lists everything, in the order given", () => {
    assert.deepEqual(titles(filterReplies(replies, "")), titles(replies));
    assert.deepEqual(titles(filterReplies(replies, "  ")), titles(replies));
  });

  test("title prefix first, then titles with every word, then texts", () => {
    assert.deepEqual(titles(filterReplies(replies, "ref")), ["Refund policy", "Shipping"]);
    assert.deepEqual(titles(filterReplies(replies, "policy")), ["Refund policy", "Shipping"]);
    assert.deepEqual(titles(filterReplies(replies, "REFUNDS lost")), ["Shipping"]);
  });

  test("every word must match; case and accents do not matter", () => {
    assert.deepEqual(titles(filterReplies(replies, "acao")), ["Ação rápida"]);
    assert.deepEqual(titles(filterReplies(replies, "open nine")), []);
  });
});

describe("slashQuery", () => {
  test("a / at the start opens the list with what follows up to the caret", () => {
    assert.equal(slashQuery("/", 1), "");
    assert.equal(slashQuery("/ref more", 4), "ref");
  });

  test("anywhere else, or past a new line, it is plain text", () => {
    assert.equal(slashQuery("a/ref", 5), null);
    assert.equal(slashQuery("/ref\nx", 6), null);
    assert.equal(slashQuery("/ref", 0), null);
    assert.equal(slashQuery("", 0), null);
  });
});

describe("shortcutAction", () => {
  const page = { tagName: "BODY", getAttribute: () => null };
  const key = (k, extra = {}) => ({ key: k, target: page, ...extra });
  const field = (tagName, type) => ({ tagName, getAttribute: () => type ?? null });

  test("each key of the list is its action", () => {
    assert.deepEqual(
      SHORTCUTS.map((shortcut) => shortcutAction(key(shortcut.key, { shiftKey: shortcut.key === "?" }))),
      ["next", "previous", "close", "assignToMe", "savedReply", "help"]
    );
    assert.equal(shortcutAction(key("x")), null);
  });

  test("modifiers and compositions are never shortcuts; Shift only where it makes the character", () => {
    for (const modifier of ["ctrlKey", "metaKey", "altKey", "isComposing"]) {
      assert.equal(shortcutAction(key("j", { [modifier]: true })), null, modifier);
      assert.equal(shortcutAction(key("?", { [modifier]: true })), null, modifier);
    }
    assert.equal(shortcutAction(key("J", { shiftKey: true })), null);
    assert.equal(shortcutAction(key("e", { shiftKey: true })), null);
  });

  test("nothing fires while typing in a field", () => {
    for (const target of [
      field("TEXTAREA"),
      field("INPUT"),
      field("INPUT", "search"),
      field("SELECT"),
      { tagName: "DIV", isContentEditable: true, getAttribute: () => null },
    ]) {
      assert.equal(isTyping(target), true, target.tagName);
      assert.equal(shortcutAction(key("e", { target })), null);
      assert.equal(shortcutAction(key("/", { target })), null);
    }
    for (const target of [field("INPUT", "checkbox"), field("INPUT", "radio"), field("BUTTON")]) {
      assert.equal(isTyping(target), false);
      assert.equal(shortcutAction(key("j", { target })), "next");
    }
  });
});
