/*
 * Who the widget speaks as, and its REST calls. Members use their session (+ X-CSRFToken).
 * Anonymous visitors get a token from POST {api}/visitors the first time they open the chat,
 * never before; it is kept in localStorage. A member who still holds a visitor token claims it
 * (POST {api}/visitors/claim): the visitor's conversation merges into the member's, and the
 * token is forgotten.
 */

import { language } from "../common/i18n.js";
import { ApiError, request } from "../common/rest.js";
import { uploadFile } from "../common/upload.js";
import { loadState, saveState } from "./storage.js";

export class Session {
  constructor(config) {
    this.config = config;
    this.state = loadState();
    this.identity = null; // a promise, once the chat was opened (or a claim is due)
  }

  get member() {
    return this.config.member;
  }

  save() {
    saveState(this.state);
  }

  credentials(method) {
    const headers = {};
    if (this.member) {
      if (method !== "GET" && this.config.csrf) headers["X-CSRFToken"] = this.config.csrf;
    } else if (this.state.token) {
      headers.Authorization = "Bearer " + this.state.token;
    }
    return headers;
  }

  call(method, path, body, idempotencyKey) {
    const headers = this.credentials(method);
    if (idempotencyKey) headers["Idempotency-Key"] = idempotencyKey;
    // Application-error messages come back in the widget's language (with LocaleMiddleware).
    if (language()) headers["Accept-Language"] = language();
    return request(this.config.api + path, { method, body, headers });
  }

  /**
   * Upload a file into the caller's conversation: common/upload.js's ``{promise, cancel}``.
   * A retry passes the same ``key``: the server then returns the first upload's attachment.
   */
  upload(file, conversationId, onProgress, key) {
    return uploadFile(this.config.api + "/attachments", {
      file,
      conversationId,
      headers: { ...this.credentials("POST"), "Idempotency-Key": key },
      onProgress,
    });
  }

  ensureIdentity() {
    if (this.identity) return this.identity;
    if (this.member) {
      this.identity = this.state.token ? this.claim() : Promise.resolve();
    } else if (this.state.token) {
      this.identity = Promise.resolve();
    } else {
      this.identity = this.call("POST", "/visitors", {}).then((response) => {
        if (!response.ok) {
          this.identity = null;
          throw new ApiError(response);
        }
        this.state.token = response.data.token;
        this.state.visitorId = response.data.anonymousVisitorId;
        this.state.conversationId = null;
        this.save();
      });
    }
    return this.identity;
  }

  // The member held a visitor token from before logging in: move that history to the member.
  claim() {
    return this.call("POST", "/visitors/claim", { token: this.state.token }).then((response) => {
      if (response.ok || (response.status >= 400 && response.status < 500)) {
        // Claimed, or a token that can never be claimed (expired, someone else's): forget it.
        delete this.state.token;
        delete this.state.visitorId;
        this.state.conversationId = response.ok ? response.data.conversation.id : null;
        this.save();
        return;
      }
      this.identity = null;
      throw new ApiError(response);
    });
  }

  /** The visitor's token is no good any more: the next open starts as a new visitor. */
  forgetVisitor() {
    delete this.state.token;
    delete this.state.visitorId;
    delete this.state.conversationId;
    this.save();
    this.identity = null;
  }
}
