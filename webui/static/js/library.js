/* Process library: the diagram of a version, with the elements a diff found marked
 * (added, removed, changed) by CSS class. Clicking an entry of the diff lists selects it. */
(function () {
  'use strict';

  function parse(text) {
    try { return JSON.parse(text || '{}'); } catch (e) { return {}; }
  }

  function show(box) {
    var marks = parse(box.dataset.marks);
    var viewer = new window.BpmnJS({ container: box });
    box.pmoViewer = viewer;
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
          if (registry.get(id)) { canvas.addMarker(id, marks[id]); }
        });
        canvas.zoom('fit-viewport', 'auto');
        box.dataset.ready = 'true';
      })
      .catch(function () {
        var note = document.createElement('p');
        note.className = 'text-secondary p-3 mb-0';
        note.textContent = box.dataset.errorText;
        box.replaceChildren(note);
        box.dataset.ready = 'error';
      });
  }

  function focus(id) {
    document.querySelectorAll('[data-version-diagram]').forEach(function (box) {
      var viewer = box.pmoViewer;
      if (!viewer) { return; }
      var element = viewer.get('elementRegistry').get(id);
      if (!element || element.waypoints) { return; }
      var canvas = viewer.get('canvas');
      canvas.zoom(1, { x: element.x + element.width / 2, y: element.y + element.height / 2 });
      canvas.scrollToElement(element);
    });
  }

  if (window.BpmnJS) {
    document.querySelectorAll('[data-version-diagram]').forEach(show);
    document.querySelectorAll('.diff-item[data-element]').forEach(function (item) {
      item.addEventListener('click', function () { focus(item.dataset.element); });
    });
  }
})();
