/* The proposal form: show the lessons of earlier projects of the chosen category. */
(function () {
  "use strict";
  var box = document.querySelector("[data-testid=related-lessons]");
  var select = document.querySelector("[data-testid=start-form] select[name=category]");
  if (!box || !select) { return; }
  var hint = box.querySelector("[data-related-hint]");
  var none = box.querySelector("[data-related-none]");
  function show() {
    var chosen = select.value;
    var found = false;
    box.querySelectorAll(".related-lessons").forEach(function (list) {
      var mine = list.getAttribute("data-category") === chosen;
      list.hidden = !mine;
      found = found || mine;
    });
    hint.hidden = !!chosen;
    none.hidden = !chosen || found;
  }
  select.addEventListener("change", show);
  show();
}());
