/* The process owner's modeler: bpmn-js with a small properties panel for what PMOflow
 * reads (lane = role, task properties, conditions, timers, decision), server drafts,
 * validation by the engine's own deploy checks (click a problem to find its element),
 * and deploy with a comment. SpiffWorkflow extension elements are kept as bpmn-js
 * "any" elements (no moddle extension needed, nothing else in the file is lost). */
(function () {
  'use strict';

  var SPIFF = 'http://spiffworkflow.org/bpmn/schema/1.0/core';
  var NOTE = 'diagram.unasked_field';  // a note: shown, does not block deploying
  var box = document.getElementById('modeler-canvas');
  if (!box || !window.BpmnJS) { return; }
  var texts = document.getElementById('modeler-texts').dataset;
  var statusLine = document.getElementById('modeler-status');
  var problemList = document.getElementById('modeler-problems');
  var props = document.getElementById('modeler-props');
  var deployButton = document.getElementById('modeler-deploy');
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var modeler = new window.BpmnJS({ container: box });
  var moddle = modeler.get('moddle');
  var modeling = modeler.get('modeling');
  var canvas = modeler.get('canvas');
  var registry = modeler.get('elementRegistry');
  var selection = modeler.get('selection');
  var marked = [];
  var clean = false;
  window.pmoModeler = modeler;  // for people who script their browser (and the tests)

  function say(text) { statusLine.textContent = text; }

  function post(url, body) {
    return fetch(url, {
      method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'Accept': 'application/json',
                 'X-CSRFToken': csrf },
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        data.httpStatus = response.status;
        return data;
      });
    });
  }

  function xml() { return modeler.saveXML({ format: true }).then(function (r) { return r.xml; }); }

  function processes() {
    var defs = modeler.getDefinitions();
    return defs ? defs.rootElements.filter(function (e) { return e.$type === 'bpmn:Process'; }) : [];
  }

  function mainProcess() {
    var found = processes();
    return found.filter(function (p) { return p.isExecutable !== false; })[0] || found[0];
  }

  // ---------------------------------------------------------------- extension elements
  function extValues(bo) { return (bo.extensionElements && bo.extensionElements.values) || []; }

  function findExt(bo, type) {
    return extValues(bo).filter(function (e) { return e.$type === type; })[0];
  }

  function ensureExt(bo, type) {
    var found = findExt(bo, type);
    if (found) { return found; }
    if (!bo.extensionElements) {
      bo.extensionElements = moddle.create('bpmn:ExtensionElements', { values: [] });
      bo.extensionElements.$parent = bo;
    }
    found = moddle.createAny(type, SPIFF, {});
    found.$parent = bo.extensionElements;
    bo.extensionElements.get('values').push(found);
    return found;
  }

  function dropExt(bo, item) {
    if (!bo.extensionElements) { return; }
    var values = bo.extensionElements.get('values');
    var i = values.indexOf(item);
    if (i >= 0) { values.splice(i, 1); }
    if (!values.length) { delete bo.extensionElements; bo.extensionElements = undefined; }
  }

  function getProp(bo, name) {
    var holder = findExt(bo, 'spiffworkflow:properties');
    var found = ((holder && holder.$children) || []).filter(function (p) { return p.name === name; })[0];
    return found ? found.value : '';
  }

  function setProp(bo, name, value) {
    var holder = ensureExt(bo, 'spiffworkflow:properties');
    holder.$children = holder.$children || [];
    var found = holder.$children.filter(function (p) { return p.name === name; })[0];
    if (!value) {
      if (found) { holder.$children.splice(holder.$children.indexOf(found), 1); }
      if (!holder.$children.length) { dropExt(bo, holder); }
      return;
    }
    if (!found) {
      found = moddle.createAny('spiffworkflow:property', SPIFF, { name: name });
      found.$parent = holder;
      holder.$children.push(found);
    }
    found.value = value;
  }

  function getBody(bo, type) { var found = findExt(bo, type); return found ? (found.$body || '') : ''; }

  function setBody(bo, type, value) {
    if (!value) { var found = findExt(bo, type); if (found) { dropExt(bo, found); } return; }
    ensureExt(bo, type).$body = value;
  }

  // ---------------------------------------------------------------- properties panel
  function field(label, value, onChange, opts) {
    opts = opts || {};
    var wrap = document.createElement('div');
    wrap.className = 'mb-2';
    var id = 'prop-' + Math.random().toString(36).slice(2);
    var lab = document.createElement('label');
    lab.className = opts.checkbox ? 'form-check-label' : 'form-label mb-0';
    lab.htmlFor = id;
    lab.textContent = label;
    var input;
    if (opts.options) {
      input = document.createElement('select');
      input.className = 'form-select form-select-sm';
      opts.options.forEach(function (o) {
        var option = document.createElement('option');
        option.value = o[0]; option.textContent = o[1];
        input.appendChild(option);
      });
      input.value = value;
    } else if (opts.checkbox) {
      input = document.createElement('input');
      input.type = 'checkbox';
      input.className = 'form-check-input me-1';
      input.checked = value === 'true';
      wrap.className = 'form-check mb-2';
    } else {
      input = document.createElement(opts.multiline ? 'textarea' : 'input');
      input.className = 'form-control form-control-sm';
      input.value = value || '';
      if (opts.readonly) { input.readOnly = true; }
    }
    input.id = id;
    if (opts.testid) { input.dataset.testid = opts.testid; }
    input.addEventListener('change', function () {
      onChange(opts.checkbox ? (input.checked ? 'true' : '') : input.value.trim());
      touched();
    });
    if (opts.checkbox) { wrap.appendChild(input); wrap.appendChild(lab); }
    else { wrap.appendChild(lab); wrap.appendChild(input); }
    props.appendChild(wrap);
    return input;
  }

  /* "New form" names a form after the process and step and opens the form designer on
     it; "Edit form" opens the designer on the step's form. */
  function formLinks(bo, input) {
    var row = document.createElement('div');
    row.className = 'mb-2 d-flex gap-3 small';
    function link(text, testid) {
      var a = document.createElement('a');
      a.textContent = text; a.target = '_blank'; a.rel = 'noopener'; a.dataset.testid = testid;
      row.appendChild(a);
      return a;
    }
    var create = link(texts.newForm, 'new-form');
    var edit = link(texts.editForm, 'edit-form');
    function update() {
      var name = input.value.trim();
      edit.hidden = !name;
      edit.href = name ? box.dataset.urlForms + '/' + encodeURIComponent(name) : '#';
      var fresh = ((mainProcess() || {}).id || 'process') + '-' + bo.id + '.schema.json';
      create.href = box.dataset.urlForms + '/' + encodeURIComponent(fresh);
      create.dataset.name = fresh;
    }
    create.addEventListener('click', function () {
      input.value = create.dataset.name;
      setProp(bo, 'formJsonSchemaFilename', input.value);
      touched();
      update();
    });
    input.addEventListener('input', update);
    input.addEventListener('change', update);
    update();
    props.appendChild(row);
  }

  function touched() {
    clean = false;
    deployButton.disabled = true;
    modeling.updateProperties(props.current, {});  // marks the diagram changed (undo stack)
  }

  function is(bo, type) { return bo && bo.$instanceOf && bo.$instanceOf(type); }

  function timerOf(bo) {
    return (bo.eventDefinitions || []).filter(function (d) { return d.$type === 'bpmn:TimerEventDefinition'; })[0];
  }

  function showProps(element) {
    props.replaceChildren();
    props.current = element;
    if (!element) { return; }
    var bo = element.businessObject;
    field(texts.id, bo.id, function () {}, { readonly: true, testid: 'prop-id' });
    if (is(bo, 'bpmn:Lane')) {
      field(texts.role, bo.name, function (v) { modeling.updateLabel(element, v); }, { testid: 'prop-lane-role' });
      return;
    }
    if (is(bo, 'bpmn:Participant') && bo.processRef) {
      field(texts.processId, bo.processRef.id, function (v) { if (v) { bo.processRef.id = v; } }, { testid: 'prop-process-id' });
    }
    field(texts.name, bo.name, function (v) { modeling.updateLabel(element, v); }, { testid: 'prop-name' });
    if (is(bo, 'bpmn:UserTask') || is(bo, 'bpmn:ManualTask') || bo.$type === 'bpmn:Task') {
      field(texts.taskRole, getProp(bo, 'role'), function (v) { setProp(bo, 'role', v); }, { testid: 'prop-role' });
      formLinks(bo, field(texts.form, getProp(bo, 'formJsonSchemaFilename'), function (v) { setProp(bo, 'formJsonSchemaFilename', v); }, { testid: 'prop-form' }));
      field(texts.sla, getProp(bo, 'sla'), function (v) { setProp(bo, 'sla', v); }, { testid: 'prop-sla' });
      field(texts.slaExpression, getProp(bo, 'slaExpression'), function (v) { setProp(bo, 'slaExpression', v); });
      field(texts.assignee, getProp(bo, 'assignee'), function (v) { setProp(bo, 'assignee', v); }, { testid: 'prop-assignee' });
      field(texts.fourEyes, getProp(bo, 'fourEyes'), function (v) { setProp(bo, 'fourEyes', v); }, { checkbox: true, testid: 'prop-four-eyes' });
      field(texts.description, getProp(bo, 'description'), function (v) { setProp(bo, 'description', v); }, { multiline: true });
    }
    if (is(bo, 'bpmn:StartEvent') && !(bo.eventDefinitions || []).length) {
      field(texts.form, getProp(bo, 'formJsonSchemaFilename'), function (v) { setProp(bo, 'formJsonSchemaFilename', v); }, { testid: 'prop-form' });
    }
    if (is(bo, 'bpmn:BusinessRuleTask')) {
      field(texts.decision, getBody(bo, 'spiffworkflow:calledDecisionId'), function (v) { setBody(bo, 'spiffworkflow:calledDecisionId', v); }, { testid: 'prop-decision' });
    }
    if (is(bo, 'bpmn:SequenceFlow')) {
      var cond = bo.conditionExpression ? bo.conditionExpression.body : '';
      field(texts.condition, cond, function (v) {
        modeling.updateProperties(element, { conditionExpression: v ? moddle.create('bpmn:FormalExpression', { body: v }) : undefined });
      }, { multiline: true, testid: 'prop-condition' });
    }
    var timer = timerOf(bo);
    if (timer) {
      var kind = ['timeDuration', 'timeDate', 'timeCycle'].filter(function (k) { return timer[k]; })[0] || 'timeDuration';
      var expr = timer[kind] ? timer[kind].body : '';
      var kindInput = field(texts.timerKind, kind, function () {}, { options: [['timeDuration', texts.duration], ['timeDate', texts.date], ['timeCycle', texts.cycle]] });
      field(texts.timerExpression, expr, function (v) {
        ['timeDuration', 'timeDate', 'timeCycle'].forEach(function (k) { timer[k] = undefined; });
        if (v) { timer[kindInput.value] = moddle.create('bpmn:FormalExpression', { body: v }); }
      }, { testid: 'prop-timer' });
    }
  }

  modeler.on('selection.changed', function (event) {
    showProps(event.newSelection.length === 1 ? event.newSelection[0] : null);
  });
  modeler.on('commandStack.changed', function () { clean = false; deployButton.disabled = true; });

  // ---------------------------------------------------------------- problems
  function clearMarks() {
    marked.forEach(function (id) { if (registry.get(id)) { canvas.removeMarker(id, 'pmo-problem'); } });
    marked = [];
  }

  function findElement(id) {
    var element = registry.get(id);
    if (!element) { return; }
    selection.select(element);
    if (!element.waypoints) {
      canvas.zoom(1, { x: element.x + element.width / 2, y: element.y + element.height / 2 });
    }
    canvas.scrollToElement(element);
  }

  function showProblems(found) {
    clearMarks();
    problemList.replaceChildren();
    if (!found.filter(function (p) { return p.code !== NOTE; }).length) {
      var ok = document.createElement('li');
      ok.className = 'list-group-item text-success';
      ok.dataset.testid = 'problems-none';
      ok.textContent = texts.clean;
      problemList.appendChild(ok);
    }
    found.forEach(function (p) {
      var item = document.createElement('li');
      item.className = 'list-group-item problem-item' + (p.code === NOTE ? ' text-body-secondary' : '');
      item.tabIndex = 0;
      item.dataset.testid = p.code === NOTE ? 'note' : 'problem';
      if (p.element_id) { item.dataset.element = p.element_id; }
      var what = document.createElement('strong');
      what.textContent = (p.element_name || p.element_id || p.file) + ': ';
      item.appendChild(what);
      item.appendChild(document.createTextNode(p.message));
      if (p.element_id && registry.get(p.element_id)) {
        canvas.addMarker(p.element_id, 'pmo-problem');
        marked.push(p.element_id);
        item.addEventListener('click', function () { findElement(p.element_id); });
        item.addEventListener('keydown', function (e) { if (e.key === 'Enter') { findElement(p.element_id); } });
      }
      problemList.appendChild(item);
    });
  }

  function validate() {
    return xml().then(function (text) { return post(box.dataset.urlValidate, { xml: text }); })
      .then(function (data) {
        var found = data.problems || [];
        var blocking = found.filter(function (p) { return p.code !== NOTE; });
        showProblems(found);
        clean = blocking.length === 0 && data.httpStatus === 200;
        deployButton.disabled = !clean;
        say(clean ? texts.clean : texts.problems.replace('__N__', blocking.length));
        return clean;
      });
  }

  function save() {
    var proc = mainProcess();
    var basedOn = parseInt(box.dataset.basedOn, 10);
    return xml().then(function (text) {
      return post(box.dataset.urlSave, { xml: text, key: proc ? proc.id : '',
                                         name: proc ? (proc.name || '') : '',
                                         based_on: isNaN(basedOn) ? null : basedOn });
    }).then(function (data) {
      if (data.httpStatus !== 200) { say(texts.failed + ' ' + (data.error || data.httpStatus)); return; }
      say(texts.saved);
      history.replaceState(null, '', data.url);
      return validate();
    });
  }

  function deploy() {
    var comment = document.getElementById('deploy-comment').value.trim();
    if (!comment) { say(texts.needComment); document.getElementById('deploy-comment').focus(); return; }
    var effective = document.getElementById('deploy-effective').value;
    var move = document.getElementById('running-move').checked;
    deployButton.disabled = true;
    xml().then(function (text) {
      return post(box.dataset.urlDeploy, { xml: text, comment: comment, effective_from: effective || null });
    }).then(function (data) {
      if (data.httpStatus === 201) {
        var first = (data.versions || [])[0];
        say(texts.deployed.replace('__V__', first ? first.version : '—'));
        var link = document.createElement('a');
        link.dataset.testid = 'deployed-link';
        link.className = 'ms-2';
        if (first) {
          link.href = first.url + (move ? '#running-work' : '');
          link.textContent = first.key + ' v' + first.version;
          statusLine.appendChild(link);
          if (move) { window.location.href = link.href; }
        }
        return;
      }
      if (data.problems) { showProblems(data.problems); }
      say(texts.failed + ' ' + (data.error || (data.problems ? data.problems.length : data.httpStatus)));
    });
  }

  // ---------------------------------------------------------------- open, upload, download
  function open(text) {
    return modeler.importXML(text).then(function () {
      canvas.zoom('fit-viewport', 'auto');
      box.dataset.ready = 'true';
    }).catch(function (err) {
      say(texts.loadingFailed + ' ' + err.message);
      box.dataset.ready = 'error';
    });
  }

  if (box.dataset.source) {
    fetch(box.dataset.source, { credentials: 'same-origin' })
      .then(function (r) { if (!r.ok) { throw new Error('HTTP ' + r.status); } return r.text(); })
      .then(open)
      .catch(function (err) { say(texts.loadingFailed + ' ' + err.message); box.dataset.ready = 'error'; });
  } else {
    modeler.createDiagram().then(function () { box.dataset.ready = 'true'; });
  }

  document.getElementById('modeler-upload').addEventListener('change', function (event) {
    var file = event.target.files[0];
    if (!file) { return; }
    box.dataset.basedOn = '';
    file.text().then(open);
  });
  document.getElementById('modeler-download').addEventListener('click', function () {
    xml().then(function (text) {
      var proc = mainProcess();
      var link = document.createElement('a');
      link.href = URL.createObjectURL(new Blob([text], { type: 'application/xml' }));
      link.download = (proc ? proc.id : 'diagram') + '.bpmn';
      document.body.appendChild(link);
      link.click();
      link.remove();
    });
  });
  document.getElementById('modeler-validate').addEventListener('click', validate);
  document.getElementById('modeler-save').addEventListener('click', save);
  document.querySelectorAll('[data-delete-draft]').forEach(function (button) {
    button.addEventListener('click', function () {
      post(button.dataset.deleteDraft, {}).then(function (data) {
        if (data.httpStatus === 200) { button.closest('li').remove(); }
      });
    });
  });
  deployButton.addEventListener('click', function () {
    if (clean) { deploy(); }
  });
})();
