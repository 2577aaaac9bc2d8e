/* The process diagram (bpmn-js navigated viewer) with this request's progress marked:
 * completed elements, the steps waiting now, and what was not reached (dimmed).
 * The diagram is fitted to its frame (after drawing and whenever the frame changes width;
 * the frame's height follows the diagram's proportions),
 * has zoom in / zoom out / fit buttons, and its lanes carry the roles' display names in
 * the reader's language (the page passes a role key -> label map). */
(function () {
  'use strict';

  var STEP = 1.25;

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

  /* Lanes (and pools) named by a role key show the role's display name instead: the
   * name on the shape is redrawn; the diagram's XML is not changed. */
  function relabelLanes(viewer, labels) {
    var registry = viewer.get('elementRegistry');
    var graphics = viewer.get('graphicsFactory');
    registry.forEach(function (element) {
      if (element.type !== 'bpmn:Lane' && element.type !== 'bpmn:Participant') { return; }
      var bo = element.businessObject;
      var key = bo && bo.name && bo.name.trim();
      if (!key || !Object.prototype.hasOwnProperty.call(labels, key)) { return; }
      bo.name = labels[key];
      var gfx = registry.getGraphics(element);
      gfx.setAttribute('data-role', key);
      graphics.update('shape', element, gfx);
    });
  }

  /* The frame takes the diagram's proportions (within limits), so that fitting it fills
   * the width and the labels stay as large as the page allows; small diagrams are not
   * blown up past MAX_SCALE. */
  var MAX_SCALE = 1.0;
  var MARGIN = 24;

  function shape(box, canvas) {
    var inner = canvas.viewbox().inner;
    if (!inner.width || !inner.height || !box.clientWidth) { return; }
    var scale = Math.min((box.clientWidth - MARGIN) / inner.width, MAX_SCALE);
    var wanted = inner.height * scale + MARGIN;
    var limit = Math.max(320, window.innerHeight * 0.75);
    box.style.height = Math.round(Math.min(Math.max(wanted, 240), limit)) + 'px';
    canvas.resized();
  }

  function fit(canvas) {
    canvas.zoom('fit-viewport', 'auto');
    if (canvas.zoom() > MAX_SCALE) { canvas.zoom(MAX_SCALE); }
  }

  function zoomBy(canvas, factor) {
    var box = canvas.viewbox();
    var centre = { x: box.outer.width / 2, y: box.outer.height / 2 };
    canvas.zoom(Math.max(0.2, Math.min(4, canvas.zoom() * factor)), centre);
  }

  function addControls(box, canvas) {
    var bar = document.createElement('div');
    bar.className = 'diagram-controls btn-group-vertical shadow-sm';
    bar.setAttribute('role', 'toolbar');
    bar.setAttribute('aria-label', box.dataset.controlsLabel || 'Zoom');
    [['zoom-in', 'bi-zoom-in', box.dataset.zoomInText, function () { zoomBy(canvas, STEP); }],
     ['zoom-out', 'bi-zoom-out', box.dataset.zoomOutText, function () { zoomBy(canvas, 1 / STEP); }],
     ['fit', 'bi-arrows-fullscreen', box.dataset.fitText, function () { fit(canvas); }]
    ].forEach(function (spec) {
      var button = document.createElement('button');
      button.type = 'button';
      button.className = 'btn btn-light btn-sm border';
      button.dataset.zoom = spec[0];
      button.title = spec[2] || spec[0];
      button.setAttribute('aria-label', spec[2] || spec[0]);
      var icon = document.createElement('i');
      icon.className = 'bi ' + spec[1];
      icon.setAttribute('aria-hidden', 'true');
      button.appendChild(icon);
      button.addEventListener('click', spec[3]);
      bar.appendChild(button);
    });
    box.parentNode.insertBefore(bar, box.nextSibling);
  }

  function refitOnResize(box, canvas) {
    if (!window.ResizeObserver) { return; }
    var last = box.clientWidth;
    var timer = null;
    new window.ResizeObserver(function () {
      if (box.clientWidth === last || !box.clientWidth) { return; }
      last = box.clientWidth;
      clearTimeout(timer);
      timer = setTimeout(function () { shape(box, canvas); fit(canvas); }, 60);
    }).observe(box);
  }

  function show(box) {
    var completed = parse(box.dataset.completed, {});
    var current = parse(box.dataset.current, []);
    var labels = parse(box.dataset.roleLabels, {});
    var viewer = new window.BpmnJS({ container: box });
    fetch(box.dataset.xmlUrl, { credentials: 'same-origin' })
      .then(function (response) {
        if (!response.ok) { throw new Error('HTTP ' + response.status); }
        return response.text();
      })
      .then(function (xml) { return viewer.importXML(xml); })
      .then(function () {
        var canvas = viewer.get('canvas');
        relabelLanes(viewer, labels);
        mark(viewer, completed, current, box.dataset.focus);
        shape(box, canvas);
        fit(canvas);
        addControls(box, canvas);
        refitOnResize(box, canvas);
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
