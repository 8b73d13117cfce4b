// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var summary = document.querySelector("[data-error-summary]");
    if (summary) summary.focus();

    document.querySelectorAll("[data-toggle-password]").forEach(function (button) {
      var input = document.getElementById(button.getAttribute("data-toggle-password"));
      if (!input) return;
      button.hidden = false;
      button.addEventListener("click", function () {
        var show = input.type === "password";
        input.type = show ? "text" : "password";
        button.setAttribute("aria-pressed", show ? "true" : "false");
        // The texts come from the page, in its language.
        button.textContent = button.getAttribute(show ? "data-hide-text" : "data-show-text");
      });
    });

    // A form is sent once: a second click while the first is on its way does nothing.
    document.querySelectorAll("form[method='post']").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (form.dataset.submitted === "1") { event.preventDefault(); return; }
        form.dataset.submitted = "1";
      });
    });
  });
})();
