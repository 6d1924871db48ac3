/*
 * Staff inbox page: the entry module (native ES modules, no build step). The page's config
 * (URLs, the participant kinds, the resume limit, the translations) is the JSON that admin.py renders into
 * #inbox-config.
 *
 * Safety: every piece of data reaches the DOM through textContent, attributes set one by one and
 * createElement; never innerHTML. URLs are used only if they parse as absolute http(s).
 */

import { setCatalog } from "../common/i18n.js";
import { InboxPage } from "./page.js";

const root = document.getElementById("inbox-staff-page");
const configNode = document.getElementById("inbox-config");
if (root && configNode) {
  const config = JSON.parse(configNode.textContent);
  // The admin's language, rendered into the config with the page (inbox/i18n.py).
  setCatalog(config.i18n);
  new InboxPage(root, config).start();
}
