/* PMOflow: small progressive enhancements. Every page works without this file. */
(function () {
  'use strict';
  var root = document.documentElement;
  root.classList.remove('no-js');
  root.classList.add('js');

  /* Tabs rendered as links: arrow keys move between them (WAI-ARIA tabs pattern). */
  document.querySelectorAll('[role=tablist]').forEach(function (list) {
    var tabs = Array.prototype.slice.call(list.querySelectorAll('[role=tab]'));
    list.addEventListener('keydown', function (event) {
      var i = tabs.indexOf(document.activeElement);
      if (i < 0) { return; }
      var next = null;
      if (event.key === 'ArrowRight') { next = tabs[(i + 1) % tabs.length]; }
      if (event.key === 'ArrowLeft') { next = tabs[(i - 1 + tabs.length) % tabs.length]; }
      if (event.key === 'Home') { next = tabs[0]; }
      if (event.key === 'End') { next = tabs[tabs.length - 1]; }
      if (next) { event.preventDefault(); next.focus(); }
    });
  });

  /* Repeating rows: add and remove (the server already renders one empty row). */
  document.querySelectorAll('[data-rows]').forEach(function (box) {
    var body = box.querySelector('tbody');
    var template = box.querySelector('template');
    var add = box.querySelector('[data-add-row]');
    var max = parseInt(box.dataset.max || '0', 10) || null;
    var min = Math.max(parseInt(box.dataset.min || '0', 10) || 0, 1);
    var next = parseInt(box.dataset.next || '0', 10) || body.rows.length;

    function update() {
      var count = body.rows.length;
      if (add) { add.disabled = max !== null && count >= max; }
      body.querySelectorAll('[data-remove-row]').forEach(function (b) { b.disabled = count <= min; });
    }
    if (add) {
      add.addEventListener('click', function () {
        if (max !== null && body.rows.length >= max) { return; }
        var html = template.innerHTML.split('__i__').join(String(next))
          .split('__n__').join(String(body.rows.length + 1));
        next += 1;
        body.insertAdjacentHTML('beforeend', html);
        var first = body.rows[body.rows.length - 1].querySelector('input, select, textarea');
        if (first) { first.focus(); }
        update();
      });
    }
    body.addEventListener('click', function (event) {
      var button = event.target.closest('[data-remove-row]');
      if (!button || body.rows.length <= min) { return; }
      var row = button.closest('tr');
      var focusTarget = row.previousElementSibling || row.nextElementSibling;
      row.remove();
      var f = focusTarget && focusTarget.querySelector('input, select, textarea');
      if (f) { f.focus(); } else if (add) { add.focus(); }
      update();
    });
    update();
  });

  /* After a failed submit, bring the error summary into view for keyboard users. */
  var summary = document.getElementById('error-summary');
  if (summary) { summary.focus(); }
})();
