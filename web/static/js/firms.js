// Firm pages: toasts fade out after a few seconds. No inline scripts: the CSP forbids them.
(function () {
  "use strict";
  function expire(root) {
    (root || document).querySelectorAll(".toast:not([data-expiring])").forEach(function (t) {
      t.setAttribute("data-expiring", "1");
      setTimeout(function () { t.classList.add("gone"); }, 3500);
      setTimeout(function () { t.remove(); }, 4000);
    });
  }
  document.addEventListener("htmx:afterSettle", function () { expire(document); });
  document.addEventListener("htmx:oobAfterSwap", function () { expire(document); });
})();
