// The staff board's dialog (<dialog id="ask"> in staff.html): asks for a reason, a
// question or an amount, checks it, and answers with it (or null when cancelled).
import { money, say } from "./console.js";

const $ = (id) => document.getElementById(id);

/** Ask in the page's dialog; resolves to { text, amount } or null when cancelled.
 * `text`: { label, required, max } or null; `amount`: { total } or null. */
export function ask({ title, help, okLabel, text = null, amount = null }) {
  const dialog = $("ask");
  $("ask-title").textContent = title;
  $("ask-help").textContent = help || "";
  $("ask-ok").textContent = okLabel;
  say($("ask-error"), "");
  $("ask-text-field").hidden = !text;
  $("ask-amount-field").hidden = !amount;
  $("ask-text").value = "";
  if (text) {
    $("ask-text-label").textContent = text.label;
    $("ask-text").maxLength = text.max;
    $("ask-text").required = Boolean(text.required);
  }
  if (amount) {
    $("ask-amount").max = String(amount.total);
    $("ask-amount").value = String(amount.total);
    $("ask-amount-help").textContent =
      `From 1 to ${amount.total} cents (${money(amount.total)}, the order's total, refunds all of it).`;
  }
  return new Promise((resolve) => {
    const form = $("ask-form");
    const done = (answer) => {
      form.removeEventListener("submit", submit);
      $("ask-cancel").removeEventListener("click", cancel);
      dialog.removeEventListener("cancel", cancel);
      if (dialog.open) dialog.close();
      resolve(answer);
    };
    const cancel = (event) => {
      event?.preventDefault();
      done(null);
    };
    const submit = (event) => {
      event.preventDefault();
      const said = $("ask-text").value.trim();
      if (text?.required && !said) {
        say($("ask-error"), `${text.label} is needed (up to ${text.max} characters).`);
        $("ask-text").focus();
        return;
      }
      let cents = null;
      if (amount) {
        cents = Number($("ask-amount").value);
        if (!Number.isInteger(cents) || cents < 1 || cents > amount.total) {
          say($("ask-error"), `The refund must be a whole number of cents from 1 to ${amount.total}.`);
          $("ask-amount").focus();
          return;
        }
      }
      done({ text: said, amount: cents });
    };
    form.addEventListener("submit", submit);
    $("ask-cancel").addEventListener("click", cancel);
    dialog.addEventListener("cancel", cancel);
    dialog.showModal();
    (amount ? $("ask-amount") : $("ask-text")).focus();
  });
}
