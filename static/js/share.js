// "Copy link": put a view's shareable URL on the clipboard, and in a visible field when the clipboard
// is refused (an http page, a browser setting), so the learner can always copy it by hand.

import { t } from "./i18n.js";

/** Show `url` in `field`, copy it, and say on `button` what happened for a moment. */
export async function copyLink(url, button, field) {
  field.value = url;
  field.hidden = false;
  try {
    await navigator.clipboard.writeText(url);
    button.textContent = t("common.link_copied");
  } catch {
    field.select();
    button.textContent = t("common.copy_link_below");
  }
  setTimeout(() => (button.textContent = t("common.copy_link")), 2500);
}
