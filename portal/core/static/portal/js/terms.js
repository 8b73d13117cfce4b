// ① The agree checkbox unlocks once each terms box has been scrolled to its end.
// Without JavaScript the checkbox simply works; the server always requires it.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var checkbox = document.querySelector("[data-terms-agree]");
    var boxes = Array.prototype.slice.call(document.querySelectorAll("[data-terms-box]"));
    if (!checkbox || !boxes.length || !("IntersectionObserver" in window)) return;
    var unread = new Set(boxes);
    // The texts come from the page, in its language.
    var lockedText = checkbox.getAttribute("data-locked-text") || "";
    var readText = checkbox.getAttribute("data-read-text") || "";

    function update() {
      var locked = unread.size > 0;
      checkbox.setAttribute("aria-disabled", locked ? "true" : "false");
      if (locked) checkbox.checked = false;
    }
    // aria-disabled keeps the checkbox focusable and announced; clicks are refused while locked.
    checkbox.addEventListener("click", function (event) {
      if (checkbox.getAttribute("aria-disabled") === "true") event.preventDefault();
    });
    boxes.forEach(function (box) {
      var status = document.getElementById(box.id + "-status");
      if (status) status.textContent = lockedText;
      var end = box.querySelector("[data-terms-end]");
      var observer = new IntersectionObserver(function (entries) {
        entries.forEach(function (entry) {
          if (!entry.isIntersecting) return;
          unread.delete(box);
          if (status) { status.textContent = readText; status.classList.add("is-read"); }
          observer.disconnect();
          update();
        });
      }, { root: box, threshold: 1.0 });
      observer.observe(end);
    });
    update();
  });
})();
