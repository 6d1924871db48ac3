/*
 * Notifications on the staff page: while the tab is hidden, a new participant message raises a
 * desktop notification (Notification API, once the user turned them on with the button and the
 * browser allowed them) and, if chosen, a short sound; clicking it brings the tab forward with
 * the thread open. The unread count in the tab title is the list's (list.js). The e-mail toggle
 * is the user's server-side setting (REST ``notifications/settings``; e-mails about participant
 * messages nobody has read).
 *
 * The choices to show desktop notifications and to play a sound are this browser's
 * (localStorage), as the permission is.
 */

import { gettext, interpolate } from "../common/i18n.js";
import { participantName } from "./format.js";

const DESKTOP_KEY = "inbox.notify.desktop";
const SOUND_KEY = "inbox.notify.sound";

function stored(key) {
  try {
    return window.localStorage.getItem(key) === "on";
  } catch (error) {
    return false;
  }
}

function store(key, on) {
  try {
    window.localStorage.setItem(key, on ? "on" : "off");
  } catch (error) {
    // Storage refused (private mode): the choice lasts as long as the page.
  }
}

export class Notifier {
  constructor(page) {
    this.page = page;
    this.supported = "Notification" in window;
    this.desktop = this.supported && stored(DESKTOP_KEY);
    this.sound = stored(SOUND_KEY);
    this.audio = null;
    this.desktopButton = document.querySelector(".inbox-notify-desktop");
    this.soundBox = document.querySelector(".inbox-notify-sound");
    this.emailBox = document.querySelector(".inbox-notify-email");
  }

  bind() {
    if (this.desktopButton) {
      this.desktopButton.hidden = !this.supported;
      this.desktopButton.addEventListener("click", () => this.toggleDesktop());
    }
    if (this.soundBox) {
      this.soundBox.checked = this.sound;
      this.soundBox.addEventListener("change", () => {
        this.sound = this.soundBox.checked;
        store(SOUND_KEY, this.sound);
      });
    }
    if (this.emailBox && this.page.config.notificationSettingsUrl) {
      this.emailBox.addEventListener("change", () => this.saveEmail(this.emailBox.checked));
      this.page
        .call("GET", this.page.config.notificationSettingsUrl)
        .then((body) => this.showEmail(body.settings.emailUnread))
        .catch(() => this.showEmail(null));
    }
    this.renderDesktop();
  }

  async toggleDesktop() {
    if (this.desktop) {
      this.desktop = false;
    } else {
      const permission = Notification.permission === "granted" ? "granted" : await Notification.requestPermission();
      this.desktop = permission === "granted";
    }
    store(DESKTOP_KEY, this.desktop);
    this.renderDesktop();
  }

  renderDesktop() {
    if (!this.desktopButton || !this.supported) return;
    const denied = Notification.permission === "denied";
    this.desktopButton.disabled = denied && !this.desktop;
    this.desktopButton.setAttribute("aria-pressed", this.desktop ? "true" : "false");
    this.desktopButton.textContent = this.desktop
      ? gettext("Desktop notifications: on")
      : denied
        ? gettext("Desktop notifications: blocked by the browser")
        : gettext("Turn on desktop notifications");
  }

  showEmail(on) {
    this.emailBox.disabled = on === null;
    this.emailBox.checked = Boolean(on);
  }

  async saveEmail(on) {
    this.emailBox.disabled = true;
    try {
      const body = await this.page.call("PATCH", this.page.config.notificationSettingsUrl, { emailUnread: on });
      this.showEmail(body.settings.emailUnread);
    } catch (error) {
      this.showEmail(!on);
    }
  }

  /** A live message reached the page: alert the user if the tab is hidden and it is new. */
  onMessage(conversationId, message) {
    if (document.visibilityState === "visible") return;
    if (message.silent || message.direction !== "PARTICIPANT_TO_BUSINESS") return;
    if (this.desktop && Notification.permission === "granted") this.showDesktop(conversationId, message);
    if (this.sound) this.beep();
  }

  showDesktop(conversationId, message) {
    const row = this.page.list.rows.get(conversationId);
    const name = row ? participantName(row, this.page.kinds) : gettext("Visitor");
    const notification = new Notification(interpolate(gettext("New message from %(name)s"), { name }), {
      body: (message.content && message.content.previewText) || "",
      tag: conversationId,
    });
    notification.addEventListener("click", () => {
      window.focus();
      this.page.thread.open(conversationId);
      notification.close();
    });
  }

  beep() {
    try {
      this.audio = this.audio || new AudioContext();
      const oscillator = this.audio.createOscillator();
      const gain = this.audio.createGain();
      oscillator.frequency.value = 880;
      gain.gain.setValueAtTime(0.15, this.audio.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.001, this.audio.currentTime + 0.3);
      oscillator.connect(gain).connect(this.audio.destination);
      oscillator.start();
      oscillator.stop(this.audio.currentTime + 0.3);
    } catch (error) {
      // No audio output: the notification (and the title's count) still tell.
    }
  }
}
