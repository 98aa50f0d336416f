// SafeStep console: the only script. Refreshes polled fragments and fills canned replies.
"use strict";

// Elements with data-poll="URL" are replaced by the server's fragment every data-poll-ms.
// A redirect or an error (logged out, access withdrawn) reloads the page, which shows why.
function poll(element) {
  const every = Number(element.dataset.pollMs) || 3000;
  let last = element.innerHTML;
  async function refresh() {
    try {
      const response = await fetch(element.dataset.poll, { credentials: "same-origin", cache: "no-store" });
      if (response.redirected || !response.ok) {
        window.location.reload();
        return;
      }
      const html = await response.text();
      if (html !== last) {
        element.innerHTML = html;
        last = html;
      }
    } catch (error) {
      // Network hiccup: try again at the next tick.
    }
    window.setTimeout(refresh, every);
  }
  window.setTimeout(refresh, every);
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-poll]").forEach(poll);
  document.querySelectorAll("button[data-fill]").forEach((button) => {
    button.addEventListener("click", () => {
      const target = document.getElementById(button.dataset.fill);
      target.value = button.dataset.text;
      target.focus();
    });
  });
});
