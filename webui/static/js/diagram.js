/* The process diagram (bpmn-js navigated viewer) with this request's progress marked:
 * completed elements, the steps waiting now, and what was not reached (dimmed). */
(function () {
  'use strict';

  function parse(text, fallback) {
    try { return JSON.parse(text || ''); } catch (e) { return fallback; }
  }

  function isFlowNode(element) {
    var bo = element.businessObject;
    return bo && bo.$instanceOf && bo.$instanceOf('bpmn:FlowNode');
  }

  function mark(viewer, completed, current, focus) {
    var canvas = viewer.get('canvas');
    var overlays = viewer.get('overlays');
    viewer.get('elementRegistry').forEach(function (element) {
      if (element.type === 'label') { return; }
      if (element.type === 'bpmn:SequenceFlow') {
        var from = element.source && element.source.id;
        var to = element.target && element.target.id;
        var taken = completed[from] && (completed[to] || current.indexOf(to) >= 0);
        canvas.addMarker(element.id, taken ? 'pmo-taken' : 'pmo-dimmed');
        return;
      }
      if (!isFlowNode(element)) { return; }
      if (current.indexOf(element.id) >= 0) {
        canvas.addMarker(element.id, 'pmo-current');
        if (element.id === focus) { canvas.addMarker(element.id, 'pmo-focus'); }
      } else if (completed[element.id]) {
        canvas.addMarker(element.id, 'pmo-completed');
      } else {
        canvas.addMarker(element.id, 'pmo-dimmed');
      }
      if (completed[element.id] > 1) {
        var badge = document.createElement('span');
        badge.className = 'pmo-visits';
        badge.textContent = '\u00d7' + completed[element.id];
        badge.title = String(completed[element.id]);
        overlays.add(element.id, { position: { top: -8, right: 8 }, html: badge });
      }
    });
  }

  function show(box) {
    var completed = parse(box.dataset.completed, {});
    var current = parse(box.dataset.current, []);
    var viewer = new window.BpmnJS({ container: box });
    fetch(box.dataset.xmlUrl, { credentials: 'same-origin' })
      .then(function (response) {
        if (!response.ok) { throw new Error('HTTP ' + response.status); }
        return response.text();
      })
      .then(function (xml) { return viewer.importXML(xml); })
      .then(function () {
        mark(viewer, completed, current, box.dataset.focus);
        viewer.get('canvas').zoom('fit-viewport', 'auto');
        box.dataset.ready = 'true';
      })
      .catch(function () {
        box.classList.add('diagram-failed');
        var note = document.createElement('p');
        note.className = 'text-secondary p-3 mb-0';
        note.textContent = box.dataset.errorText;
        box.replaceChildren(note);
        box.dataset.ready = 'error';
      });
  }

  if (window.BpmnJS) {
    document.querySelectorAll('[data-diagram]').forEach(show);
  }
})();
