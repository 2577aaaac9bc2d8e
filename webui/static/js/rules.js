/* The rules page: the dmn-js modeler on the table's draft (decision table view), and
 * every form marked data-carries-xml sends the editor's current XML in its "xml" field. */
(function () {
  'use strict';
  var box = document.getElementById('dmn-editor');
  var source = document.getElementById('dmn-xml');
  if (!box || !source || !window.DmnJS) { return; }
  var modeler = new window.DmnJS({ container: box });

  function openTable() {
    var view = modeler.getViews().find(function (v) { return v.type === 'decisionTable'; });
    return view ? modeler.open(view) : Promise.resolve();
  }

  modeler.importXML(source.value).then(openTable).then(function () {
    box.dataset.ready = 'true';
  }).catch(function (err) {
    box.dataset.ready = 'error';
    var note = document.createElement('p');
    note.className = 'text-danger p-3 mb-0';
    note.textContent = box.dataset.errorText + ' ' + (err && err.message ? err.message : '');
    box.appendChild(note);
  });

  document.querySelectorAll('form[data-carries-xml]').forEach(function (form) {
    form.addEventListener('submit', function (event) {
      if (form.dataset.filled === 'true') { return; }
      event.preventDefault();
      var submitter = event.submitter;
      function send(xml) {
        form.querySelector('[data-xml-field]').value = xml;
        form.dataset.filled = 'true';
        // later, not in this event's microtasks: a form still firing its submit event
        // ignores a second submission
        window.setTimeout(function () {
          if (form.requestSubmit) { form.requestSubmit(submitter || undefined); } else { form.submit(); }
        }, 0);
      }
      modeler.saveXML({ format: true }).then(function (result) { send(result.xml); })
        .catch(function () { send(source.value); });
    });
  });
})();
