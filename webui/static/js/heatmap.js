/* The heatmap: a process version's diagram with each user task coloured by the median
 * time work waited there (five shades, longest = darkest red, with a "median N d" badge)
 * and each sequence flow drawn thicker and darker the more often it was taken.  How
 * often a flow was taken is read from the visits of its ends: the target's when the flow
 * is its only way in, else the source's when it is the only way out, else the smaller. */
(function () {
  'use strict';

  var box = document.querySelector('[data-heatmap]');
  var holder = document.getElementById('heat-data');
  if (!box || !holder || !window.BpmnJS) { return; }
  var heat = JSON.parse(holder.textContent);

  function bucket(value, max) {
    if (!max) { return 0; }
    return Math.min(4, Math.floor(5 * value / (max * 1.0001)));
  }

  function flowCount(flow) {
    var src = flow.source, tgt = flow.target;
    var s = src && heat[src.id] ? heat[src.id].visits : null;
    var t = tgt && heat[tgt.id] ? heat[tgt.id].visits : null;
    var ins = tgt ? (tgt.incoming || []).length : 0;
    var outs = src ? (src.outgoing || []).length : 0;
    if (t !== null && ins === 1) { return t; }
    if (s !== null && outs === 1) { return s; }
    if (s !== null && t !== null) { return Math.min(s, t); }
    return null;
  }

  var viewer = new window.BpmnJS({ container: box });
  fetch(box.dataset.xmlUrl, { credentials: 'same-origin' })
    .then(function (r) { if (!r.ok) { throw new Error('HTTP ' + r.status); } return r.text(); })
    .then(function (xml) { return viewer.importXML(xml); })
    .then(function () {
      var canvas = viewer.get('canvas');
      var overlays = viewer.get('overlays');
      var registry = viewer.get('elementRegistry');
      var maxWait = 0, maxFlow = 0, flows = [];
      Object.keys(heat).forEach(function (id) {
        if (heat[id].median !== null) { maxWait = Math.max(maxWait, heat[id].median); }
      });
      registry.forEach(function (el) {
        if (el.type === 'bpmn:SequenceFlow') {
          var n = flowCount(el);
          if (n !== null) { flows.push([el, n]); maxFlow = Math.max(maxFlow, n); }
        }
      });
      registry.forEach(function (el) {
        var h = heat[el.id];
        if (!h || el.type === 'label') { return; }
        if (h.median !== null) {
          canvas.addMarker(el.id, 'heat-' + bucket(h.median, maxWait));
          var badge = document.createElement('span');
          badge.className = 'heat-badge';
          badge.textContent = box.dataset.daysText.replace('{n}', h.median);
          badge.title = h.completed + ' / p90 ' + h.p90;
          overlays.add(el.id, { position: { bottom: -4, left: 0 }, html: badge });
        }
        var visits = document.createElement('span');
        visits.className = 'heat-visits';
        visits.textContent = '\u00d7' + h.visits;
        overlays.add(el.id, { position: { top: -10, right: 10 }, html: visits });
      });
      flows.forEach(function (pair) {
        canvas.addMarker(pair[0].id, 'heat-flow-' + bucket(pair[1], maxFlow));
      });
      canvas.zoom('fit-viewport', 'auto');
      box.dataset.ready = 'true';
      box.dataset.maxWait = String(maxWait);
    })
    .catch(function () {
      var note = document.createElement('p');
      note.className = 'text-secondary p-3 mb-0';
      note.textContent = box.dataset.errorText;
      box.replaceChildren(note);
      box.dataset.ready = 'error';
    });
}());
