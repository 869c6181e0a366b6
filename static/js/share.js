// @ts-check
// The one clipboard helper of the kit. copyText puts any text on the clipboard and says so on the button
// for a moment; copyLink does it for a view's shareable URL, and shows the URL in a visible field as well
// when the clipboard is refused (an http page, a browser setting), so the learner can always copy it by hand.

import { t } from "./i18n.js";

/**
 * Copy `text`; on success `button` says `done` for a moment (then its old words). False when refused.
 * @param {string} text
 * @param {HTMLElement} button
 * @param {string} done
 */
export async function copyText(text, button, done) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    return false;
  }
  const old = button.textContent;
  button.textContent = done;
  setTimeout(() => (button.textContent = old), 1500);
  return true;
}

/**
 * Show `url` in `field`, copy it, and say on `button` what happened for a moment. `button.dataset.url` keeps
 * the last link copied (the browser tests read it).
 * @param {string} url
 * @param {HTMLElement} button
 * @param {HTMLInputElement} field
 */
export async function copyLink(url, button, field) {
  button.dataset.url = url;
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
