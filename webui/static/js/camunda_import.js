/* The Camunda 7 import report: the uploaded diagram (bpmn-js navigated viewer) with each
 * reported element marked by its outcome (converted, needs a decision, cannot run).
 * Clicking a report entry selects its element on the diagram (marker + scrolled into
 * view); clicking an element on the diagram marks its entries in the report. */
(function () {
  'use strict';

  var box = document.getElementById('c7-canvas');
  if (!box || !window.BpmnJS) { return; }
  var marks = {};
  try { marks = JSON.parse(box.dataset.marks || '{}'); } catch (e) { marks = {}; }
  var viewer = new window.BpmnJS({ container: box });
  window.pmoImportViewer = viewer;
  var entries = Array.prototype.slice.call(document.querySelectorAll('[data-testid=c7-entry]'));

  function select(id) {
    var canvas = viewer.get('canvas');
    var registry = viewer.get('elementRegistry');
    registry.forEach(function (element) { canvas.removeMarker(element.id, 'c7-selected'); });
    entries.forEach(function (li) {
      li.classList.toggle('active', li.dataset.element === id);
      var button = li.querySelector('button');
      if (button) { button.setAttribute('aria-pressed', li.dataset.element === id ? 'true' : 'false'); }
    });
    var element = registry.get(id);
    if (!element) { return; }
    canvas.addMarker(id, 'c7-selected');
    if (canvas.scrollToElement) { canvas.scrollToElement(element); }
    box.dataset.selected = id;
  }

  entries.forEach(function (li) {  /* the entry is a button: keyboard works as a click */
    li.addEventListener('click', function () {
      if (li.dataset.element) { select(li.dataset.element); }
    });
  });

  fetch(box.dataset.xmlUrl, { credentials: 'same-origin' })
    .then(function (response) {
      if (!response.ok) { throw new Error('HTTP ' + response.status); }
      return response.text();
    })
    .then(function (xml) { return viewer.importXML(xml); })
    .then(function () {
      var canvas = viewer.get('canvas');
      var registry = viewer.get('elementRegistry');
      Object.keys(marks).forEach(function (id) {
        if (registry.get(id)) { canvas.addMarker(id, 'c7-' + marks[id].replace('_', '-')); }
      });
      viewer.on('element.click', function (event) {
        if (marks[event.element.id]) { select(event.element.id); }
      });
      canvas.zoom('fit-viewport');
      box.dataset.ready = 'true';
    })
    .catch(function () {
      var note = document.createElement('p');
      note.className = 'text-secondary p-3 mb-0';
      note.textContent = box.dataset.errorText;
      box.replaceChildren(note);
      box.dataset.ready = 'error';
    });
})();
