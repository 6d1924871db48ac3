/*
 * Typing and viewing on the staff page (common/typing.js has the timing): this page announces
 * the reply or note being typed and the conversation being viewed over the business socket,
 * and shows, under the open thread, who else is at it (collision avoidance) and whether the
 * participant is typing. The server relays; notes never reach the participant (docs/events.md).
 */

import { gettext, interpolate } from "../common/i18n.js";
import { Indicators, TypingSender, every } from "../common/typing.js";
import { participantName } from "./format.js";

export class TypingPanel {
  constructor(page) {
    this.page = page;
    this.line = page.root.querySelector(".inbox-typing");
    this.indicators = new Indicators(() => this.render());
    this.sender = new TypingSender((op, target) =>
      page.stream.send({ type: "typing", op, conversationId: target.conversationId, note: target.note })
    );
    this.viewing = null; // the conversation this page announces it views
    this.stopViewing = null;
  }

  bind() {
    const composer = this.page.composer;
    composer.textarea.addEventListener("input", () => this.typed());
    // Sending ends the typing at once (Enter sends without a submit event: composer.js).
    composer.form.addEventListener("submit", () => this.sender.stop());
    composer.textarea.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) this.sender.stop();
    });
    composer.form.querySelectorAll("input[name=mode]").forEach((radio) =>
      radio.addEventListener("change", () => this.typed())
    );
  }

  typed() {
    const thread = this.page.thread.current;
    if (!thread || !this.page.composer.textarea.value.trim()) {
      this.sender.stop();
      return;
    }
    const note = this.page.composer.isNote();
    this.sender.activity({ key: thread.id + (note ? ":note" : ":reply"), conversationId: thread.id, note });
  }

  /** The thread now shows ``id`` (null: none). */
  opened(id) {
    if (this.viewing === id) return;
    this.sender.stop();
    if (this.stopViewing) {
      this.stopViewing();
      this.page.stream.send({ type: "viewing", op: "stop", conversationId: this.viewing });
    }
    this.indicators.clear();
    this.viewing = id;
    this.stopViewing = id
      ? every(() => this.page.stream.send({ type: "viewing", op: "start", conversationId: id }))
      : null;
  }

  onEvent(event) {
    const data = event.data || {};
    if (!this.page.thread.isOpen(data.conversationId)) return;
    if (event.slug === "participant_typing") {
      this.indicators.update(data.op, "participant", { kind: "participant" });
      return;
    }
    const staff = data.staff || {};
    if (!staff.wixUserId || staff.wixUserId === this.page.me) return;
    const viewing = event.slug === "staff_viewing";
    const kind = viewing ? "viewing" : data.note ? "note" : "reply";
    this.indicators.update(data.op, staff.wixUserId + (viewing ? ":viewing" : ":typing"), { kind, name: staff.name });
  }

  describe(info) {
    if (info.kind === "participant") {
      const row = this.page.list.rows.get(this.viewing);
      const name = row ? participantName(row, this.page.kinds) : gettext("The participant");
      return interpolate(gettext("%(name)s is typing\u2026"), { name });
    }
    if (info.kind === "note") return interpolate(gettext("%(name)s is writing an internal note\u2026"), info);
    if (info.kind === "reply") return interpolate(gettext("%(name)s is replying\u2026"), info);
    return interpolate(gettext("%(name)s is viewing this conversation"), info);
  }

  render() {
    const infos = this.indicators.active();
    // Typing says more than viewing: a colleague who types is not listed as viewing too.
    const typing = new Set(infos.filter((i) => i.kind === "note" || i.kind === "reply").map((i) => i.name));
    const texts = infos.filter((i) => i.kind !== "viewing" || !typing.has(i.name)).map((i) => this.describe(i));
    this.line.textContent = texts.join(" \u00b7 ");
    this.line.hidden = texts.length === 0;
  }
}
