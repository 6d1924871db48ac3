/*
 * inbox visitor chat widget: the loader. No framework, no build step, no dependencies.
 *
 * Embed with {% load inbox %}{% inbox_widget %} or with one tag:
 *   <script src="/static/inbox/widget/widget.js" data-api="/inbox/v2"
 *           data-ws="/ws/inbox/participant/" defer></script>
 * (data-authenticated="true" and data-csrf="<token>" for a logged-in member; the template tag
 * fills these in. data-lang="pt" overrides the page's <html lang> for the widget's language.)
 *
 * This file stays a classic script so that the tags already embedded on sites keep working:
 * only a classic script has document.currentScript, which holds the options. The widget itself
 * is native ES modules (main.js and ../common/), loaded from next to this file by the dynamic
 * import below, which resolves against this script's own URL (hashed or not).
 */
(function () {
  "use strict";

  var script = document.currentScript || document.querySelector("script[data-inbox-widget]");
  if (!script || window.inboxWidget) {
    return;
  }
  var data = script.dataset;
  var config = {
    api: (data.api || "/inbox/v2").replace(/\/+$/, ""),
    ws: data.ws || "/ws/inbox/participant/",
    css: data.css || "",
    // The site's own title (already in the page's language); the widget's default is translated.
    title: data.title || "",
    // The tag's lang= option, else the page's language (inbox/static/inbox/common/i18n.js).
    lang: data.lang || document.documentElement.lang || "",
    member: data.authenticated === "true",
    csrf: data.csrf || ""
  };
  var widget = import("./main.js").then(function (main) {
    return main.mount(config);
  });
  window.inboxWidget = {
    open: function () {
      widget.then(function (mounted) {
        mounted.open();
      });
    },
    close: function () {
      widget.then(function (mounted) {
        mounted.close();
      });
    }
  };
})();
