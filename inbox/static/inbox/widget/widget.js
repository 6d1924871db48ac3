/*
 * inbox visitor chat widget. No framework, no build step, no dependencies.
 *
 * Embed with {% load inbox %}{% inbox_widget %} or with one tag:
 *   <script src="/static/inbox/widget/widget.js" data-api="/inbox/v2"
 *           data-ws="/ws/inbox/participant/" defer></script>
 * (data-authenticated="true" and data-csrf="<token>" for a logged-in member; the template tag
 * fills these in.)
 *
 * - Anonymous visitors get a token from POST {api}/visitors the first time they open the chat,
 *   never before; it is kept in localStorage. Members use their session (+ X-CSRFToken).
 * - A member who still holds a visitor token claims it (POST {api}/visitors/claim): the visitor's
 *   conversation merges into the member's, and the token is forgotten.
 * - Sends are optimistic; a retry reuses the same Idempotency-Key, so a flaky network never
 *   creates two messages.
 * - Replies arrive over the participant stream; after a drop the widget reconnects with jittered
 *   back-off and resumes from the last sequence it saw; events are deduplicated by message id.
 * - Everything from the network is rendered with textContent / createElement only.
 */
(function () {
  "use strict";

  var script = document.currentScript || document.querySelector("script[data-inbox-widget]");
  if (!script || window.inboxWidget) {
    return;
  }

  var BAP = "BUSINESS_AND_PARTICIPANT";
  var TO_BUSINESS = "PARTICIPANT_TO_BUSINESS";
  var STORAGE_KEY = "inbox.widget.v1";
  var HISTORY_PAGE = 50;
  var SEND_ATTEMPTS = 8;
  var RETRYABLE = { 0: 1, 408: 1, 425: 1, 429: 1, 500: 1, 502: 1, 503: 1, 504: 1 };

  var data = script.dataset;
  var cfg = {
    api: (data.api || "/inbox/v2").replace(/\/+$/, ""),
    ws: data.ws || "/ws/inbox/participant/",
    // Next to the script (also when collectstatic gave it a hashed name: widget.<hash>.js).
    css: data.css || script.src.replace(/widget(\.[0-9a-f]+)?\.js(\?.*)?$/, "widget.css"),
    title: data.title || "Chat with us",
    member: data.authenticated === "true",
    csrf: data.csrf || readCookie("csrftoken")
  };

  // --- persistent state (written only once the visitor has opened the chat) -------------------

  var state = loadState();

  function loadState() {
    try {
      var raw = window.localStorage.getItem(STORAGE_KEY);
      return raw ? JSON.parse(raw) || {} : {};
    } catch (e) {
      return {};
    }
  }

  function saveState() {
    try {
      window.localStorage.setItem(STORAGE_KEY, JSON.stringify(state));
    } catch (e) {
      /* storage disabled: the chat still works for this page view */
    }
  }

  function readCookie(name) {
    var match = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
    return match ? decodeURIComponent(match[1]) : "";
  }

  // --- helpers --------------------------------------------------------------------------------

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined && text !== null) {
      node.textContent = String(text);
    }
    return node;
  }

  function safeUrl(value) {
    if (typeof value !== "string" || !value) {
      return null;
    }
    try {
      var url = new URL(value, window.location.href);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  function newKey() {
    if (window.crypto && window.crypto.randomUUID) {
      return window.crypto.randomUUID();
    }
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map
      .call(bytes, function (b) {
        return ("0" + b.toString(16)).slice(-2);
      })
      .join("");
  }

  // Sequences are int64 decimal strings: compare by length, then lexically.
  function seqCompare(a, b) {
    a = String(a || "0");
    b = String(b || "0");
    if (a.length !== b.length) {
      return a.length < b.length ? -1 : 1;
    }
    return a < b ? -1 : a > b ? 1 : 0;
  }

  function seqMax(a, b) {
    return seqCompare(a, b) >= 0 ? a : b;
  }

  function jitter(attempt, base, cap) {
    var delay = Math.min(cap, base * Math.pow(2, attempt));
    return delay / 2 + Math.random() * (delay / 2);
  }

  function errorMessage(response) {
    var body = response && response.data;
    return (body && body.message) || "Something went wrong";
  }

  function failure(response) {
    var error = new Error(errorMessage(response));
    error.status = response.status;
    return error;
  }

  // --- REST -----------------------------------------------------------------------------------

  function request(method, path, body, options) {
    options = options || {};
    var headers = { Accept: "application/json" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
    }
    if (cfg.member) {
      if (method !== "GET" && cfg.csrf) {
        headers["X-CSRFToken"] = cfg.csrf;
      }
    } else if (state.token) {
      headers.Authorization = "Bearer " + state.token;
    }
    if (options.idempotencyKey) {
      headers["Idempotency-Key"] = options.idempotencyKey;
    }
    return window
      .fetch(cfg.api + path, {
        method: method,
        headers: headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "same-origin",
        cache: "no-store"
      })
      .then(
        function (response) {
          return response
            .json()
            .catch(function () {
              return null;
            })
            .then(function (json) {
              return {
                ok: response.ok,
                status: response.status,
                data: json,
                retryAfter: Number(response.headers.get("Retry-After")) || 0
              };
            });
        },
        function () {
          return { ok: false, status: 0, data: null, retryAfter: 0 };
        }
      );
  }

  // --- DOM ------------------------------------------------------------------------------------

  var host = document.createElement("inbox-chat-widget");
  // Inline, so no rule of the host page can restyle the host element; the shadow root keeps
  // the widget's own rules in and the page's out.
  host.setAttribute("style", "all: initial !important; visibility: hidden !important;");
  var root = host.attachShadow({ mode: "open" });
  var stylesheet = el("link");
  stylesheet.rel = "stylesheet";
  stylesheet.href = cfg.css;
  stylesheet.addEventListener("load", reveal);
  stylesheet.addEventListener("error", reveal);
  root.appendChild(stylesheet);

  function reveal() {
    host.setAttribute("style", "all: initial !important;");
  }

  var bubble = el("button", "bubble");
  bubble.type = "button";
  bubble.setAttribute("aria-label", "Open chat");
  bubble.setAttribute("aria-haspopup", "dialog");
  bubble.setAttribute("aria-expanded", "false");
  bubble.setAttribute("aria-controls", "inbox-panel");
  bubble.appendChild(chatIcon());
  var badge = el("span", "badge");
  badge.hidden = true;
  bubble.appendChild(badge);

  var panel = el("div", "panel");
  panel.id = "inbox-panel";
  panel.hidden = true;
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-modal", "false");
  panel.setAttribute("aria-labelledby", "inbox-title");

  var header = el("div", "header");
  var title = el("h2", "title", cfg.title);
  title.id = "inbox-title";
  var closeButton = el("button", "close", "\u00d7");
  closeButton.type = "button";
  closeButton.setAttribute("aria-label", "Close chat");
  header.appendChild(title);
  header.appendChild(closeButton);

  var status = el("div", "status");
  status.setAttribute("role", "status");
  status.setAttribute("aria-live", "polite");

  var log = el("div", "log");
  log.setAttribute("role", "log");
  log.setAttribute("aria-live", "polite");
  log.setAttribute("aria-label", "Messages");
  log.tabIndex = 0;
  var earlier = el("button", "earlier", "Show earlier messages");
  earlier.type = "button";
  earlier.hidden = true;
  var empty = el("p", "empty", "Send us a message, we usually reply within a few minutes.");
  var list = el("div", "list");
  var pendingList = el("div", "list pending-list");
  log.appendChild(earlier);
  log.appendChild(empty);
  log.appendChild(list);
  log.appendChild(pendingList);

  var form = el("form", "composer");
  var input = el("textarea", "input");
  input.id = "inbox-input";
  input.rows = 1;
  input.maxLength = 16384;
  input.placeholder = "Write a message\u2026";
  input.setAttribute("aria-label", "Message");
  var sendButton = el("button", "send", "Send");
  sendButton.type = "submit";
  sendButton.setAttribute("aria-label", "Send message");
  form.appendChild(input);
  form.appendChild(sendButton);

  panel.appendChild(header);
  panel.appendChild(status);
  panel.appendChild(log);
  panel.appendChild(form);
  root.appendChild(panel);
  root.appendChild(bubble);

  function chatIcon() {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var path = document.createElementNS(ns, "path");
    path.setAttribute(
      "d",
      "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z"
    );
    svg.appendChild(path);
    return svg;
  }

  // --- rendering ------------------------------------------------------------------------------

  var rendered = {}; // message id -> element
  var lastSequence = "0"; // highest sequence seen from the stream or a history fetch
  var conversationId = null;
  var nextCursor = null;
  var unread = 0;

  function bubbleNode(kind) {
    return el("div", "bubble-item " + (kind || ""));
  }

  function textBubble(text) {
    return el("div", "bubble-item text", text);
  }

  // A link that opens in a new tab without giving the page a handle on this one.
  function externalLink(href, className, text) {
    var link = el("a", className, text);
    link.href = href;
    link.target = "_blank";
    link.rel = "noopener noreferrer";
    return link;
  }

  // A decorative picture (empty alt text) appended to parent, if its URL is safe to load.
  function appendPicture(parent, url, className) {
    var src = safeUrl(url);
    if (src) {
      var img = el("img", className);
      img.src = src;
      img.alt = "";
      parent.appendChild(img);
    }
  }

  function mediaBubble(item) {
    var node = bubbleNode("media");
    if (item.image) {
      var imageUrl = safeUrl(item.image.url);
      if (imageUrl) {
        var img = el("img");
        img.src = imageUrl;
        img.alt = item.image.filename || "Image";
        img.loading = "lazy";
        node.appendChild(img);
      } else {
        node.appendChild(el("span", "muted", item.image.filename || "Image"));
      }
    } else if (item.file) {
      var fileUrl = safeUrl(item.file.url);
      var label = item.file.filename || "File";
      if (fileUrl) {
        node.appendChild(externalLink(fileUrl, "file", "\ud83d\udcce " + label));
      } else {
        node.appendChild(el("span", "file", label));
      }
    }
    return node;
  }

  function buttonsNode(message, buttons) {
    var row = el("div", "buttons");
    (buttons || []).forEach(function (button) {
      if (!button || !button.label) {
        return;
      }
      var launch = safeUrl(button.launchUrl);
      if (launch) {
        row.appendChild(externalLink(launch, "action", button.label));
      } else if (button.postbackProperties && button.postbackProperties.interactionId) {
        var press = el("button", "action", button.label);
        press.type = "button";
        press.addEventListener("click", function () {
          interact(message, button.postbackProperties.interactionId, press);
        });
        row.appendChild(press);
      }
    });
    return row;
  }

  function renderContent(message) {
    var content = message.content || {};
    var nodes = [];
    if (content.basic) {
      (content.basic.items || []).forEach(function (item) {
        nodes.push(typeof item.text === "string" ? textBubble(item.text) : mediaBubble(item));
      });
    } else if (content.template) {
      var template = content.template;
      var card = bubbleNode("card");
      appendPicture(card, template.imageUrl, "card-image");
      if (template.title) {
        card.appendChild(el("div", "card-title", template.title));
      }
      (template.textLines || []).forEach(function (line) {
        card.appendChild(el("div", "card-line", line));
      });
      card.appendChild(buttonsNode(message, template.buttons));
      nodes.push(card);
    } else if (content.minimal) {
      var minimal = bubbleNode("minimal");
      appendPicture(minimal, content.minimal.iconUrl, "icon");
      var target = safeUrl(content.minimal.url);
      minimal.appendChild(
        target
          ? externalLink(target, "", content.minimal.text)
          : el("span", "", content.minimal.text)
      );
      nodes.push(minimal);
    } else if (content.form) {
      var formNode = bubbleNode("form");
      formNode.appendChild(el("div", "card-title", content.form.title));
      if (content.form.description) {
        formNode.appendChild(el("div", "card-line", content.form.description));
      }
      var fields = el("dl", "fields");
      (content.form.fields || []).forEach(function (field) {
        fields.appendChild(el("dt", "", field.name));
        fields.appendChild(el("dd", "", field.value));
      });
      formNode.appendChild(fields);
      nodes.push(formNode);
      (content.form.media || []).forEach(function (item) {
        nodes.push(mediaBubble(item));
      });
    } else if (content.system) {
      var notice = bubbleNode("system");
      appendPicture(notice, content.system.imageUrl, "card-image");
      if (content.system.text) {
        notice.appendChild(el("div", "system-text", content.system.text));
      }
      if (content.system.buttons && content.system.buttons.length) {
        notice.appendChild(buttonsNode(message, content.system.buttons));
      }
      nodes.push(notice);
    } else {
      nodes.push(textBubble(content.previewText || ""));
    }
    return nodes;
  }

  function messageNode(message) {
    var mine = message.direction === TO_BUSINESS;
    var isSystem = !!(message.content && message.content.system);
    var group = el("div", "msg " + (isSystem ? "system-msg" : mine ? "mine" : "theirs"));
    group.setAttribute("data-message-id", message.id);
    group.setAttribute("data-sequence", message.sequence);
    renderContent(message).forEach(function (node) {
      group.appendChild(node);
    });
    if (message.createdDate) {
      var when = new Date(message.createdDate);
      if (!isNaN(when.getTime())) {
        var time = el(
          "time",
          "time",
          when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
        );
        time.dateTime = message.createdDate;
        group.appendChild(time);
      }
    }
    return group;
  }

  function isNearBottom() {
    return log.scrollHeight - log.scrollTop - log.clientHeight < 80;
  }

  // Adds a stored message once, in sequence order. ``track`` (stream and history) moves the
  // resume point; a send's own response does not, since an earlier reply may still be in flight.
  function addMessage(message, track) {
    if (!message || message.visibility !== BAP || !message.id) {
      return false;
    }
    if (track) {
      lastSequence = seqMax(lastSequence, message.sequence);
    }
    if (rendered[message.id]) {
      return false;
    }
    var stick = isNearBottom();
    var node = messageNode(message);
    var after = null;
    for (var child = list.lastElementChild; child; child = child.previousElementSibling) {
      if (seqCompare(child.getAttribute("data-sequence"), message.sequence) < 0) {
        after = child;
        break;
      }
    }
    list.insertBefore(node, after ? after.nextSibling : list.firstChild);
    rendered[message.id] = node;
    empty.hidden = true;
    if (stick) {
      log.scrollTop = log.scrollHeight;
    }
    return true;
  }

  function clearMessages() {
    rendered = {};
    lastSequence = "0";
    nextCursor = null;
    while (list.firstChild) {
      list.removeChild(list.firstChild);
    }
    empty.hidden = false;
  }

  function setStatus(text) {
    status.textContent = text || "";
    status.hidden = !text;
  }

  function noteUnread(message) {
    if (message.direction === TO_BUSINESS) {
      return;
    }
    if (panel.hidden || document.visibilityState !== "visible") {
      unread += 1;
      badge.textContent = String(unread);
      badge.hidden = false;
      bubble.setAttribute("aria-label", "Open chat, " + unread + " new");
    } else {
      markRead();
    }
  }

  var readTimer = null;
  function markRead() {
    if (!conversationId || lastSequence === "0") {
      return;
    }
    window.clearTimeout(readTimer);
    readTimer = window.setTimeout(function () {
      request("POST", "/conversations/" + conversationId + "/read", { sequence: lastSequence });
    }, 400);
  }

  // --- identity and conversation ---------------------------------------------------------------

  var identity = null; // a promise, once the chat was opened (or a claim is due)

  function ensureIdentity() {
    if (identity) {
      return identity;
    }
    if (cfg.member) {
      identity = state.token ? claim() : Promise.resolve();
    } else if (state.token) {
      identity = Promise.resolve();
    } else {
      identity = request("POST", "/visitors", {}).then(function (response) {
        if (!response.ok) {
          identity = null;
          throw failure(response);
        }
        state.token = response.data.token;
        state.visitorId = response.data.anonymousVisitorId;
        state.conversationId = null;
        saveState();
      });
    }
    return identity;
  }

  // The member held a visitor token from before logging in: move that history to the member.
  function claim() {
    return request("POST", "/visitors/claim", { token: state.token }).then(function (response) {
      if (response.ok || (response.status >= 400 && response.status < 500)) {
        // Claimed, or a token that can never be claimed (expired, someone else's): forget it.
        delete state.token;
        delete state.visitorId;
        state.conversationId = response.ok ? response.data.conversation.id : null;
        saveState();
        return;
      }
      identity = null;
      throw failure(response);
    });
  }

  function resetVisitor() {
    delete state.token;
    delete state.visitorId;
    delete state.conversationId;
    saveState();
    identity = null;
    conversationId = null;
    dropSocket();
    clearMessages();
  }

  // Members: their conversation (created on demand). Visitors: the one their first message
  // created, if any; nothing is created just because the chat was opened.
  function findConversation(create) {
    if (!cfg.member && !state.conversationId && !create) {
      return Promise.resolve(null);
    }
    if (!cfg.member && state.conversationId && !create) {
      return Promise.resolve(state.conversationId);
    }
    return request("POST", "/conversations", {}).then(function (response) {
      if (response.ok) {
        return response.data.conversation.id;
      }
      if (!cfg.member && response.status === 403) {
        resetVisitor();
        return null;
      }
      throw failure(response);
    });
  }

  function useConversation(id) {
    if (!id) {
      return;
    }
    if (id !== conversationId) {
      conversationId = id;
      if (state.conversationId !== id) {
        state.conversationId = id;
        saveState();
      }
    }
  }

  function historyQuery(cursor) {
    var params = new URLSearchParams();
    params.set("conversationId", conversationId);
    params.set("visibility", BAP);
    params.set("paging.limit", String(HISTORY_PAGE));
    if (cursor) {
      params.set("paging.cursor", cursor);
    }
    return "/messages?" + params.toString();
  }

  function loadHistory() {
    if (!conversationId) {
      return Promise.resolve();
    }
    return request("GET", historyQuery(null)).then(function (response) {
      if (!response.ok) {
        if (!cfg.member && response.status === 403) {
          // This visitor's conversation was claimed by a member (in another tab): start over.
          resetVisitor();
          return;
        }
        throw failure(response);
      }
      response.data.messages.forEach(function (message) {
        addMessage(message, true);
      });
      nextCursor = response.data.pagingMetadata.cursors.next || null;
      earlier.hidden = !nextCursor;
      log.scrollTop = log.scrollHeight;
    });
  }

  function loadEarlier() {
    if (!nextCursor) {
      return;
    }
    var top = log.scrollHeight - log.scrollTop;
    request("GET", historyQuery(nextCursor)).then(function (response) {
      if (!response.ok) {
        setStatus(errorMessage(response));
        return;
      }
      response.data.messages.forEach(function (message) {
        addMessage(message, true);
      });
      nextCursor = response.data.pagingMetadata.cursors.next || null;
      earlier.hidden = !nextCursor;
      log.scrollTop = log.scrollHeight - top;
    });
  }

  var started = null;

  function start() {
    if (started) {
      return started;
    }
    setStatus("Connecting\u2026");
    started = ensureIdentity()
      .then(function () {
        return findConversation(cfg.member);
      })
      .then(function (id) {
        useConversation(id);
        return loadHistory();
      })
      .then(function () {
        setStatus("");
        connect();
      })
      .catch(function (error) {
        started = null;
        if (error.status === 401 && !cfg.member) {
          // The visitor token expired (or the secret key changed): start as a new visitor.
          resetVisitor();
        } else if (error.status === 401 || error.status === 403) {
          setStatus("Your session has ended. Reload the page to chat.");
          return;
        }
        setStatus(error.message + " \u2014 retrying\u2026");
        window.setTimeout(function () {
          if (!panel.hidden) {
            start();
          }
        }, jitter(2, 1000, 15000));
      });
    return started;
  }

  // --- sending ----------------------------------------------------------------------------------

  var retryNow = []; // pending sends waiting for their next attempt, run early when back online

  function send(text) {
    var key = newKey();
    var body = {
      message: {
        direction: TO_BUSINESS,
        visibility: BAP,
        content: { basic: { items: [{ text: text }] } }
      }
    };
    if (conversationId) {
      body.conversationId = conversationId;
    }
    var node = el("div", "msg mine pending");
    node.appendChild(textBubble(text));
    var note = el("div", "note", "Sending\u2026");
    node.appendChild(note);
    pendingList.appendChild(node);
    empty.hidden = true;
    log.scrollTop = log.scrollHeight;

    function attempt(count) {
      note.textContent = count ? "Retrying\u2026" : "Sending\u2026";
      ensureIdentity()
        .then(
          function () {
            return request("POST", "/messages", body, { idempotencyKey: key });
          },
          function () {
            return { ok: false, status: 0, data: null, retryAfter: 0 };
          }
        )
        .then(function (response) {
          if (response.ok) {
            pendingList.removeChild(node);
            addMessage(response.data.message, false);
            if (!conversationId) {
              // The first message created the conversation: learn its id, then go live.
              findConversation(true).then(function (id) {
                useConversation(id);
                loadHistory().then(connect);
              });
            }
            return;
          }
          if (RETRYABLE[response.status] && count + 1 < SEND_ATTEMPTS) {
            scheduleRetry(count, Math.max(response.retryAfter * 1000, jitter(count, 500, 15000)));
            note.textContent = response.status ? "Retrying\u2026" : "Offline, will retry\u2026";
            return;
          }
          fail(RETRYABLE[response.status] ? "Not sent." : errorMessage(response) + ".");
        });
    }

    // Retries wait with jittered back-off, or run at once when the browser is back online.
    function scheduleRetry(count, delay) {
      var timer = null;
      var run = function () {
        window.clearTimeout(timer);
        var index = retryNow.indexOf(run);
        if (index < 0) {
          return;
        }
        retryNow.splice(index, 1);
        attempt(count + 1);
      };
      retryNow.push(run);
      timer = window.setTimeout(run, delay);
    }

    function fail(reason) {
      note.textContent = reason + " ";
      var again = el("button", "retry", "Retry");
      again.type = "button";
      again.addEventListener("click", function () {
        attempt(0);
      });
      note.appendChild(again);
    }

    attempt(0);
  }

  function interact(message, interactionId, button) {
    button.disabled = true;
    request("POST", "/messages/interactions", {
      conversationId: conversationId,
      messageId: message.id,
      interactionId: interactionId
    }).then(function (response) {
      button.disabled = false;
      if (response.ok) {
        button.classList.add("pressed");
        button.setAttribute("aria-pressed", "true");
      } else {
        setStatus(errorMessage(response));
      }
    });
  }

  // --- live stream ------------------------------------------------------------------------------

  var socket = null;
  var reconnectAttempt = 0;
  var reconnectTimer = null;
  var heartbeatTimer = null;
  var lastPong = 0;
  var seenEvents = {};
  var seenOrder = [];

  function socketUrl() {
    var base = cfg.ws;
    if (!/^wss?:/.test(base)) {
      base = (window.location.protocol === "https:" ? "wss://" : "ws://") + window.location.host + base;
    }
    if (!cfg.member && state.token) {
      base += (base.indexOf("?") >= 0 ? "&" : "?") + "token=" + encodeURIComponent(state.token);
    }
    return base;
  }

  function connect() {
    if (!conversationId || socket || !window.WebSocket) {
      return;
    }
    window.clearTimeout(reconnectTimer);
    reconnectTimer = null;
    var ws = new window.WebSocket(socketUrl());
    socket = ws;
    ws.onopen = function () {
      reconnectAttempt = 0;
      lastPong = Date.now();
      // "1" rather than "0": with nothing seen yet, replay everything (sequences are far above 1).
      ws.send(JSON.stringify({ type: "resume", sequence: seqMax(lastSequence, "1") }));
      heartbeat();
    };
    ws.onmessage = function (frame) {
      var payload;
      try {
        payload = JSON.parse(frame.data);
      } catch (e) {
        return;
      }
      lastPong = Date.now();
      if (payload.type === "event") {
        handleEvent(payload.event);
      } else if (payload.type === "ready") {
        setStatus("");
      } else if (payload.type === "reset") {
        // Too much was missed to replay: refetch over REST, then resume from there.
        dropSocket();
        clearMessages();
        loadHistory().then(connect);
      }
    };
    ws.onclose = function (event) {
      if (socket !== ws) {
        return;
      }
      socket = null;
      window.clearInterval(heartbeatTimer);
      if (event.code === 4401 && !cfg.member) {
        // The token is no longer accepted: start over as a new visitor next time it opens.
        resetVisitor();
        started = null;
        setStatus("Your chat session expired. Reopen the chat to start a new one.");
        return;
      }
      if (event.code === 4401 || event.code === 4403) {
        setStatus("Live updates are unavailable. Reload the page to retry.");
        return;
      }
      scheduleReconnect();
    };
  }

  function dropSocket() {
    var ws = socket;
    socket = null;
    window.clearInterval(heartbeatTimer);
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      try {
        ws.close();
      } catch (e) {
        /* already closed */
      }
    }
  }

  function scheduleReconnect() {
    if (reconnectTimer || !conversationId) {
      return;
    }
    var delay = jitter(reconnectAttempt, 500, 30000);
    reconnectAttempt += 1;
    if (reconnectAttempt > 2) {
      setStatus("Reconnecting\u2026");
    }
    reconnectTimer = window.setTimeout(function () {
      reconnectTimer = null;
      connect();
    }, delay);
  }

  function heartbeat() {
    window.clearInterval(heartbeatTimer);
    heartbeatTimer = window.setInterval(function () {
      if (!socket || socket.readyState !== 1) {
        return;
      }
      if (Date.now() - lastPong > 60000) {
        // No answer for a minute: the connection is dead even if the browser has not noticed.
        dropSocket();
        scheduleReconnect();
        return;
      }
      socket.send(JSON.stringify({ type: "ping" }));
    }, 25000);
  }

  // Back from sleep or offline: check the socket at once rather than waiting for the back-off.
  function wake() {
    if (!conversationId) {
      return;
    }
    retryNow.slice().forEach(function (run) {
      run();
    });
    if (!socket) {
      window.clearTimeout(reconnectTimer);
      reconnectTimer = null;
      reconnectAttempt = 0;
      connect();
      return;
    }
    if (socket.readyState === 1) {
      var ws = socket;
      var asked = Date.now();
      ws.send(JSON.stringify({ type: "ping" }));
      window.setTimeout(function () {
        if (socket === ws && lastPong < asked) {
          dropSocket();
          reconnectAttempt = 0;
          connect();
        }
      }, 5000);
    }
  }

  function rememberEvent(id) {
    if (seenEvents[id]) {
      return false;
    }
    seenEvents[id] = true;
    seenOrder.push(id);
    if (seenOrder.length > 1000) {
      delete seenEvents[seenOrder.shift()];
    }
    return true;
  }

  function handleEvent(event) {
    if (!event || !event.data || !rememberEvent(event.id)) {
      return;
    }
    var body = event.data;
    if (event.slug === "message_sent_to_participant" || event.slug === "message_sent_to_business") {
      if (body.conversationId !== conversationId || !body.message) {
        return;
      }
      if (addMessage(body.message, true)) {
        noteUnread(body.message);
      }
    } else if (event.slug === "conversations_merged") {
      var old = body.oldConversationIds || [];
      if (old.indexOf(conversationId) < 0 && body.targetConversationId !== conversationId) {
        return;
      }
      if (!cfg.member) {
        // This visitor became a member in another tab; the thread now lives in the account.
        resetVisitor();
        setStatus("This conversation continues in your account. Reload the page to see it.");
        return;
      }
      // Older messages joined this thread: show them, in order.
      useConversation(body.targetConversationId);
      dropSocket();
      clearMessages();
      loadHistory().then(connect);
    }
  }

  // --- opening and closing ----------------------------------------------------------------------

  function openPanel() {
    panel.hidden = false;
    bubble.setAttribute("aria-expanded", "true");
    bubble.setAttribute("aria-label", "Close chat");
    root.host.setAttribute("data-open", "true");
    unread = 0;
    badge.hidden = true;
    if (!state.open) {
      state.open = true;
      saveState();
    }
    input.focus();
    start().then(markRead);
  }

  function closePanel() {
    panel.hidden = true;
    bubble.setAttribute("aria-expanded", "false");
    bubble.setAttribute("aria-label", "Open chat");
    root.host.removeAttribute("data-open");
    if (state.open) {
      state.open = false;
      saveState();
    }
    bubble.focus();
  }

  bubble.addEventListener("click", function () {
    if (panel.hidden) {
      openPanel();
    } else {
      closePanel();
    }
  });
  closeButton.addEventListener("click", closePanel);
  earlier.addEventListener("click", loadEarlier);
  root.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && !panel.hidden) {
      event.stopPropagation();
      closePanel();
    }
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit ? form.requestSubmit() : submit();
    }
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    submit();
  });

  function submit() {
    var text = input.value.trim();
    if (!text) {
      return;
    }
    input.value = "";
    send(text);
    input.focus();
  }

  window.addEventListener("online", wake);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") {
      wake();
      if (!panel.hidden) {
        markRead();
      }
    }
  });

  function mount() {
    if (!cfg.member && !state.token) {
      // A conversation id without a visitor token was a member's (who has since logged out).
      delete state.conversationId;
    }
    document.body.appendChild(host);
    if (cfg.member && state.token) {
      // Logged in since the last visit: merge the visitor's conversation now, not on open.
      ensureIdentity().catch(function () {
        identity = null;
      });
    }
    if (state.open) {
      openPanel();
    } else if (state.conversationId) {
      // Someone with a conversation gets replies (and the unread badge) without opening.
      start();
    }
  }

  window.inboxWidget = { open: openPanel, close: closePanel };
  if (document.body) {
    mount();
  } else {
    document.addEventListener("DOMContentLoaded", mount);
  }
})();
