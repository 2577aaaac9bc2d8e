/* The form designer: edits a task form's JSON Schema in place (keys it does not know are
   kept), previews it with the server's renderer, saves it. Plain JS, no bundler. */
(function () {
  'use strict';

  /* The list page: "new form" opens the designer on that name. */
  var newForm = document.getElementById('new-form');
  if (newForm) {
    newForm.addEventListener('submit', function (e) {
      e.preventDefault();
      var name = document.getElementById('new-form-name').value.trim();
      if (name && !/\.json$/.test(name)) { name += '.schema.json'; }
      if (name) { window.location = newForm.dataset.base + '/' + encodeURIComponent(name); }
    });
  }
  var box = document.getElementById('form-designer');
  if (!box) { return; }

  var texts = document.getElementById('fd-texts').dataset;
  var KINDS = JSON.parse(texts.kinds);
  var CURRENCIES = ['CNY', 'USD', 'EUR', 'GBP', 'JPY', 'HKD', 'SGD', 'AUD', 'CHF'];
  var AMOUNT = '^\\d{1,12}(\\.\\d{1,2})?$';
  var schema = JSON.parse(box.dataset.schema);
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var list = document.getElementById('fd-fields');
  var preview = document.getElementById('fd-preview');
  var status = document.getElementById('fd-status');
  var problemList = document.getElementById('fd-problems');
  var timer = null;

  /* ------------------------------------------------------------ the schema model */

  function typeOf(p) {
    var t = p.type;
    if (Array.isArray(t)) { t = t.filter(function (k) { return k !== 'null'; })[0]; }
    return t;
  }

  /* The kind a property is edited as (webui/schema.py widget_of, from the designer's side). */
  function kindOf(p) {
    var w = p['x-widget'], t = typeOf(p);
    if (w === 'user' || w === 'project' || w === 'file' || w === 'money' || w === 'rows') { return w; }
    if (t === 'object') {
      var keys = Object.keys(p.properties || {});
      return keys.length === 2 && p.properties.amount && p.properties.currency ? 'money' : 'object';
    }
    if (t === 'array') {
      var items = p.items || {};
      if (typeOf(items) === 'object') { return 'rows'; }
      return items['enum'] || p['x-options-from'] ? 'multiselect' : 'tags';
    }
    if (t === 'boolean') { return 'checkbox'; }
    if (p['enum']) { return w === 'select' ? 'select' : (w === 'radio' ? 'radio' : (p['enum'].length <= 4 ? 'radio' : 'select')); }
    if (t === 'integer') { return 'integer'; }
    if (t === 'number') { return 'number'; }
    if (p.format === 'date') { return 'date'; }
    if (w === 'textarea' || (typeof p.maxLength === 'number' && p.maxLength > 200)) { return 'textarea'; }
    return 'text';
  }

  /* A new property of a kind (only what that kind needs). */
  function fresh(kind) {
    switch (kind) {
      case 'textarea': return { type: 'string', 'x-widget': 'textarea', maxLength: 4000 };
      case 'number': return { type: 'number' };
      case 'integer': return { type: 'integer' };
      case 'date': return { type: 'string', format: 'date' };
      case 'money': return { type: 'object', 'x-widget': 'money', required: ['amount', 'currency'], properties: {
        amount: { type: 'string', pattern: AMOUNT, errorMessage: 'An amount such as 1234.50 (not negative, at most 2 decimals).', title: 'Amount', 'x-title-zh': '金额' },
        currency: { type: 'string', 'enum': CURRENCIES.slice(), 'default': 'CNY', title: 'Currency', 'x-title-zh': '币种' } } };
      case 'select': return { type: 'string', 'x-widget': 'select', 'enum': ['a', 'b'], 'x-enum-titles': { a: ['A', 'A'], b: ['B', 'B'] } };
      case 'radio': return { type: 'string', 'x-widget': 'radio', 'enum': ['yes', 'no'], 'x-enum-titles': { yes: ['Yes', '是'], no: ['No', '否'] } };
      case 'multiselect': return { type: 'array', uniqueItems: true, items: { type: 'string', 'enum': ['a', 'b'], 'x-enum-titles': { a: ['A', 'A'], b: ['B', 'B'] } } };
      case 'tags': return { type: 'array', maxItems: 30, items: { type: 'string', minLength: 1, maxLength: 100 } };
      case 'checkbox': return { type: 'boolean' };
      case 'file': return { type: 'object', 'x-widget': 'file' };
      case 'user': return { type: 'string', 'x-widget': 'user' };
      case 'project': return { type: 'integer', minimum: 1, 'x-widget': 'project' };
      case 'rows': return { type: 'array', 'x-widget': 'rows', maxItems: 50, items: { type: 'object', required: [], properties: {} } };
      case 'object': return { type: 'object', properties: {} };
      default: return { type: 'string', maxLength: 200 };
    }
  }

  /* The object a property list lives in: the form, a group, or the items of rows. */
  function holderOf(p) { return kindOf(p) === 'rows' ? p.items : p; }

  function renameKey(obj, oldKey, newKey) {
    var out = {};
    Object.keys(obj.properties).forEach(function (k) { out[k === oldKey ? newKey : k] = obj.properties[k]; });
    obj.properties = out;
    if (Array.isArray(obj.required)) { obj.required = obj.required.map(function (k) { return k === oldKey ? newKey : k; }); }
    rules(obj).forEach(function (r) {
      var c = r['if'].properties;
      if (c && c[oldKey]) { c[newKey] = c[oldKey]; delete c[oldKey]; }
      if (r['if'].required) { r['if'].required = r['if'].required.map(function (k) { return k === oldKey ? newKey : k; }); }
      if (r.then.required) { r.then.required = r.then.required.map(function (k) { return k === oldKey ? newKey : k; }); }
    });
  }

  function move(obj, key, by) {
    var keys = Object.keys(obj.properties), i = keys.indexOf(key), j = i + by;
    if (j < 0 || j >= keys.length) { return; }
    keys[i] = keys[j]; keys[j] = key;
    var out = {};
    keys.forEach(function (k) { out[k] = obj.properties[k]; });
    obj.properties = out;
  }

  function removeKey(obj, key) {
    delete obj.properties[key];
    if (Array.isArray(obj.required)) { obj.required = obj.required.filter(function (k) { return k !== key; }); }
    setWhen(obj, key, '', '');
  }

  function setRequired(obj, key, on) {
    var req = Array.isArray(obj.required) ? obj.required.filter(function (k) { return k !== key; }) : [];
    if (on) { req.push(key); }
    if (req.length || Array.isArray(obj.required)) { obj.required = req; }
  }

  /* if/then rules of an object (its own and those in allOf). */
  function rules(obj) {
    var found = [];
    if (obj['if'] && obj.then) { found.push(obj); }
    (obj.allOf || []).forEach(function (r) { if (r && r['if'] && r.then) { found.push(r); } });
    return found;
  }

  /* "key is required when field is value": [field, value, rule, editable] from a rule the
     designer reads (value: one value, or several separated by commas for an enum). A rule
     testing something else (minimum, pattern...) is shown but not editable here. */
  function whenOf(obj, key) {
    var hit = ['', '', null, true];
    rules(obj).forEach(function (r) {
      var c = r['if'].properties || {}, names = Object.keys(c);
      if ((r.then.required || []).indexOf(key) < 0) { return; }
      if (names.length !== 1) { hit = ['', '', r, false]; return; }
      var test = c[names[0]] || {};
      var simple = 'const' in test || Array.isArray(test['enum']);
      var value = 'const' in test ? test['const'] : (Array.isArray(test['enum']) ? test['enum'].join(', ') : '');
      hit = [names[0], String(value), r, simple];
    });
    return hit;
  }

  /* The test of a required-when rule: const for one value, enum for "a, b" (typed like the field). */
  function whenTest(p, value, asEnum) {
    var values = String(value).split(',').map(function (v) { return v.trim(); }).filter(function (v) { return v !== ''; });
    if (!values.length) { values = ['']; }
    values = values.map(function (v) {
      if (typeOf(p) === 'boolean') { return v === 'true' || v === 'yes'; }
      if (typeOf(p) === 'integer' || typeOf(p) === 'number') { return Number(v); }
      return v;
    });
    return values.length > 1 || asEnum ? { 'enum': values } : { 'const': values[0] };
  }

  function setWhen(obj, key, field, value) {
    var now = whenOf(obj, key), rule = now[2];
    if (!now[3] && field) { return; }  /* a rule the designer does not edit stays as written */
    if (field && rule && (rule.then.required || []).length === 1 && Object.keys(rule['if'].properties || {}).length === 1) {
      /* change the rule in place: whatever else it says (then.properties...) stays */
      var test = {}, before = rule['if'].properties[now[0]] || {};
      test[field] = whenTest(obj.properties[field] || {}, value, Array.isArray(before['enum']));
      rule['if'].properties = test;
      rule['if'].required = [field];
      return;
    }
    rules(obj).forEach(function (r) {
      if (r.then.required) { r.then.required = r.then.required.filter(function (k) { return k !== key; }); }
    });
    obj.allOf = (obj.allOf || []).filter(function (r) {
      return !(r && r.then && Array.isArray(r.then.required) && r.then.required.length === 0 && Object.keys(r.then).length === 1);
    });
    if (!obj.allOf.length) { delete obj.allOf; }
    if (!field) { return; }
    var t = whenTest(obj.properties[field] || {}, value);
    var same = (obj.allOf || []).filter(function (r) {
      var c = r['if'].properties || {};
      return Object.keys(c).length === 1 && c[field] && JSON.stringify(c[field]) === JSON.stringify(t);
    })[0];
    if (same) { same.then.required = (same.then.required || []).concat([key]); return; }
    obj.allOf = (obj.allOf || []).concat([{ 'if': { properties: {}, required: [field] }, then: { required: [key] } }]);
    obj.allOf[obj.allOf.length - 1]['if'].properties[field] = t;
  }

  function choicesOf(p) {
    var target = p['enum'] ? p : (p.items || {});
    var titles = target['x-enum-titles'] || p['x-enum-titles'] || {};
    return (target['enum'] || []).map(function (v) {
      var t = titles[String(v)];
      var pair = Array.isArray(t) ? t : (typeof t === 'string' ? [t, ''] : ['', '']);
      return [String(v), pair[0] || '', pair[1] || ''].join(' | ');
    }).join('\n');
  }

  function setChoices(p, text) {
    var target = p['enum'] || typeOf(p) !== 'array' ? p : p.items;
    var numeric = typeOf(target) === 'integer' || typeOf(target) === 'number';
    var values = [], titles = {};
    text.split('\n').forEach(function (line) {
      var parts = line.split('|').map(function (s) { return s.trim(); });
      if (!parts[0]) { return; }
      values.push(numeric && !isNaN(Number(parts[0])) ? Number(parts[0]) : parts[0]);
      titles[parts[0]] = [parts[1] || '', parts[2] || ''];
    });
    target['enum'] = values;
    target['x-enum-titles'] = titles;
  }

  function setNumber(p, name, raw) {
    if (raw === '' || raw === null) { delete p[name]; } else { p[name] = Number(raw); }
  }

  function setText(p, name, raw) { if (raw) { p[name] = raw; } else { delete p[name]; } }

  function setDefault(p, raw) {
    var t = typeOf(p);
    if (raw === '') { delete p['default']; return; }
    if (t === 'boolean') { p['default'] = raw === 'true' || raw === 'yes'; }
    else if (t === 'integer' || t === 'number') { p['default'] = Number(raw); }
    else { p['default'] = raw; }
  }

  /* ------------------------------------------------------------ the editor */

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === 'text') { node.textContent = attrs[k]; } else { node.setAttribute(k, attrs[k]); }
    });
    (children || []).forEach(function (c) { node.appendChild(c); });
    return node;
  }

  var uid = 0;
  function input(label, value, onChange, opts) {
    opts = opts || {};
    var id = 'fd-i' + (++uid);
    var wrap = el('div', { 'class': opts.wide ? 'col-12' : 'col-sm-6' });
    var control;
    if (opts.options) {
      control = el('select', { 'class': 'form-select form-select-sm', id: id });
      opts.options.forEach(function (o) {
        var option = el('option', { value: o[0], text: o[1] });
        if (String(o[0]) === String(value)) { option.selected = true; }
        control.appendChild(option);
      });
    } else if (opts.multiline) {
      control = el('textarea', { 'class': 'form-control form-control-sm', id: id, rows: '3' });
      control.value = value || '';
    } else if (opts.checkbox) {
      control = el('input', { 'class': 'form-check-input', type: 'checkbox', id: id });
      control.checked = !!value;
      wrap.className += ' form-check ms-2';
      wrap.appendChild(control);
      wrap.appendChild(el('label', { 'class': 'form-check-label small', 'for': id, text: label }));
    } else {
      control = el('input', { 'class': 'form-control form-control-sm', id: id, type: opts.type || 'text' });
      control.value = value === undefined || value === null ? '' : value;
    }
    if (opts.testid) { control.setAttribute('data-testid', opts.testid); }
    if (opts.placeholder) { control.setAttribute('placeholder', opts.placeholder); }
    if (opts.disabled) { control.disabled = true; control.title = opts.title || ''; }
    if (!opts.checkbox) {
      wrap.appendChild(el('label', { 'class': 'form-label small mb-0', 'for': id, text: label }));
      wrap.appendChild(control);
    }
    control.addEventListener('change', function () {
      if (control.disabled) { return; }
      onChange(opts.checkbox ? control.checked : control.value);
      changed(opts.redraw);
    });
    return wrap;
  }

  function editor(obj, key, path) {
    var p = obj.properties[key], kind = kindOf(p), tid = path.concat([key]).join('.');
    var card = el('div', { 'class': 'card shadow-sm mb-2 fd-field', 'data-testid': 'field-' + tid });
    var head = el('div', { 'class': 'card-header bg-white d-flex justify-content-between align-items-center py-1' });
    head.appendChild(el('span', { 'class': 'small fw-semibold', text: (p.title || key) + ' · ' + (KINDS[kind] || kind) }));
    var tools = el('div', { 'class': 'btn-group btn-group-sm' });
    [['bi-arrow-up', texts.up, function () { move(obj, key, -1); }],
     ['bi-arrow-down', texts.down, function () { move(obj, key, 1); }],
     ['bi-trash', texts.remove, function () { removeKey(obj, key); }]].forEach(function (b) {
      var button = el('button', { type: 'button', 'class': 'btn btn-outline-secondary', title: b[1], 'aria-label': b[1] + ' ' + key }, [el('i', { 'class': 'bi ' + b[0], 'aria-hidden': 'true' })]);
      button.addEventListener('click', function () { b[2](); changed(true); });
      tools.appendChild(button);
    });
    head.appendChild(tools);
    card.appendChild(head);
    var body = el('div', { 'class': 'card-body row g-2 py-2' });
    card.appendChild(body);
    body.appendChild(input(texts.key, key, function (v) {
      v = v.trim().replace(/[^A-Za-z0-9_]/g, '_');
      if (v && !obj.properties[v]) { renameKey(obj, key, v); }
    }, { testid: 'key-' + tid, redraw: true }));
    body.appendChild(input(texts.kind, kind, function (v) {
      var next = fresh(v);
      ['title', 'x-title-zh', 'description', 'x-description-zh'].forEach(function (k) { if (p[k]) { next[k] = p[k]; } });
      obj.properties[key] = next;
    }, { options: Object.keys(KINDS).map(function (k) { return [k, KINDS[k]]; }), testid: 'kind-' + tid, redraw: true }));
    body.appendChild(input(texts.label, p.title, function (v) { setText(p, 'title', v); }, { testid: 'label-' + tid }));
    body.appendChild(input(texts.labelZh, p['x-title-zh'], function (v) { setText(p, 'x-title-zh', v); }, { testid: 'label-zh-' + tid }));
    body.appendChild(input(texts.help, p.description, function (v) { setText(p, 'description', v); }));
    body.appendChild(input(texts.helpZh, p['x-description-zh'], function (v) { setText(p, 'x-description-zh', v); }));
    var required = (obj.required || []).indexOf(key) >= 0;
    body.appendChild(input(texts.required, required, function (v) { setRequired(obj, key, v); }, { checkbox: true, testid: 'required-' + tid }));
    body.appendChild(input(texts.readOnly, p.readOnly, function (v) { if (v) { p.readOnly = true; } else { delete p.readOnly; } }, { checkbox: true, testid: 'read-only-' + tid }));
    var when = whenOf(obj, key);
    var others = [['', texts.none]].concat(Object.keys(obj.properties).filter(function (k) { return k !== key; }).map(function (k) { return [k, k]; }));
    var whenField = when[0], whenValue = when[1];
    var fixed = when[3] ? {} : { disabled: true, title: texts.whenFixed };
    body.appendChild(input(texts.when, whenField, function (v) { whenField = v; setWhen(obj, key, whenField, whenValue); }, Object.assign({ options: others, testid: 'when-' + tid }, fixed)));
    body.appendChild(input(texts.whenValue, whenValue, function (v) { whenValue = v; setWhen(obj, key, whenField, whenValue); }, Object.assign({ testid: 'when-value-' + tid }, fixed)));
    if (kind === 'text' || kind === 'textarea') {
      body.appendChild(input(texts.minLength, p.minLength, function (v) { setNumber(p, 'minLength', v); }, { type: 'number' }));
      body.appendChild(input(texts.maxLength, p.maxLength, function (v) { setNumber(p, 'maxLength', v); }, { type: 'number' }));
    }
    if (kind === 'number' || kind === 'integer') {
      body.appendChild(input(texts.min, p.minimum, function (v) { setNumber(p, 'minimum', v); }, { type: 'number', testid: 'min-' + tid }));
      body.appendChild(input(texts.max, p.maximum, function (v) { setNumber(p, 'maximum', v); }, { type: 'number', testid: 'max-' + tid }));
    }
    if (kind === 'date') {  /* x-earliest / x-latest: a date, today, or today+30d / today-7d */
      body.appendChild(input(texts.earliest, p['x-earliest'], function (v) { setText(p, 'x-earliest', v.trim()); }, { testid: 'earliest-' + tid, placeholder: texts.dateBoundHint }));
      body.appendChild(input(texts.latest, p['x-latest'], function (v) { setText(p, 'x-latest', v.trim()); }, { testid: 'latest-' + tid, placeholder: texts.dateBoundHint }));
    }
    if (kind === 'rows' || kind === 'multiselect' || kind === 'tags') {
      body.appendChild(input(texts.minItems, p.minItems, function (v) { setNumber(p, 'minItems', v); }, { type: 'number' }));
      body.appendChild(input(texts.maxItems, p.maxItems, function (v) { setNumber(p, 'maxItems', v); }, { type: 'number' }));
    }
    if ((kind === 'select' || kind === 'radio' || kind === 'multiselect') && !p['x-options-from'] && !(p.items || {})['x-options-from']) {
      body.appendChild(input(texts.choices, choicesOf(p), function (v) { setChoices(p, v); }, { multiline: true, wide: true, testid: 'choices-' + tid }));
    }
    if (kind === 'money') {
      var cur = p.properties.currency;
      body.appendChild(input(texts.currencies, (cur['enum'] || []).join(', '), function (v) {
        var codes = v.split(',').map(function (s) { return s.trim().toUpperCase(); }).filter(Boolean);
        if (codes.length) { cur['enum'] = codes; } else { delete cur['enum']; }
      }, { testid: 'currencies-' + tid }));
      body.appendChild(input(texts['default'], cur['default'], function (v) { setText(cur, 'default', v); }));
    } else if (['rows', 'object', 'file', 'multiselect', 'tags'].indexOf(kind) < 0) {
      body.appendChild(input(texts['default'], p['default'] === undefined ? '' : String(p['default']), function (v) { setDefault(p, v); }, { testid: 'default-' + tid }));
    }
    if (kind === 'rows' || kind === 'object') {
      var inner = holderOf(p);
      var sub = el('div', { 'class': 'col-12 ps-3 border-start' });
      Object.keys(inner.properties || {}).forEach(function (k) { sub.appendChild(editor(inner, k, path.concat([key]))); });
      sub.appendChild(adder(inner, path.concat([key]), texts.addSub));
      body.appendChild(sub);
    }
    return card;
  }

  function adder(obj, path, label) {
    var tid = path.join('.') || 'form';
    var row = el('div', { 'class': 'd-flex gap-2 align-items-end my-2' });
    var select = el('select', { 'class': 'form-select form-select-sm w-auto', 'data-testid': 'add-kind-' + tid, 'aria-label': label });
    Object.keys(KINDS).forEach(function (k) { select.appendChild(el('option', { value: k, text: KINDS[k] })); });
    var button = el('button', { type: 'button', 'class': 'btn btn-sm btn-outline-primary', 'data-testid': 'add-' + tid, text: label });
    button.addEventListener('click', function () { addField(obj, select.value); });
    row.appendChild(select);
    row.appendChild(button);
    return row;
  }

  function addField(obj, kind) {
    obj.properties = obj.properties || {};
    var n = Object.keys(obj.properties).length + 1, key = 'field_' + n;
    while (obj.properties[key]) { n += 1; key = 'field_' + n; }
    obj.properties[key] = fresh(kind);
    changed(true);
  }

  function draw() {
    list.innerHTML = '';
    Object.keys(schema.properties || {}).forEach(function (k) { list.appendChild(editor(schema, k, [])); });
    document.getElementById('fd-json').textContent = JSON.stringify(schema, null, 2);
  }

  function changed(redraw) {
    if (redraw) { draw(); } else { document.getElementById('fd-json').textContent = JSON.stringify(schema, null, 2); }
    clearTimeout(timer);
    timer = setTimeout(function () { refresh(false); }, 250);
  }

  /* ------------------------------------------------------------ preview and save */

  function lang() { return (document.querySelector('input[name="fd-lang"]:checked') || {}).value || 'en'; }

  function showProblems(found) {
    problemList.innerHTML = '';
    (found || []).forEach(function (p) {
      problemList.appendChild(el('li', { 'data-pointer': p.pointer, text: (p.pointer || '/') + ': ' + p.message }));
    });
  }

  /* [status, body] of a JSON answer; a refused request (413: too large...) says why in "error". */
  function answer(r) {
    return r.json().then(function (d) { return [r.status, d]; }, function () { return [r.status, {}]; });
  }

  function problemsOf(res) {
    return res[1].problems || [{ pointer: '', message: res[1].error || String(res[0]) }];
  }

  /* Answers can come back out of order (the server works on two at once): only the
     newest request's answer is drawn, so a slow older one never overwrites a newer one. */
  var asked = 0;

  function refresh(check) {
    var mine = ++asked;
    var body = check ? new FormData(preview) : new FormData();
    body.append('_schema', JSON.stringify(schema));
    body.append('_lang', lang());
    if (check) { body.append('_check', '1'); }
    return fetch(box.dataset.urlPreview, { method: 'POST', body: body, credentials: 'same-origin', headers: { 'X-CSRFToken': csrf, Accept: 'application/json' } })
      .then(answer)
      .then(function (res) {
        if (mine !== asked) { return; }
        if (res[0] !== 200) { showProblems(problemsOf(res)); return; }
        showProblems([]);
        preview.innerHTML = res[1].html;
        preview.dataset.checked = check ? String(res[1].errors.length) : '';
      });
  }

  document.getElementById('fd-check').addEventListener('click', function () { refresh(true); });
  document.querySelectorAll('input[name="fd-lang"]').forEach(function (r) {
    r.addEventListener('change', function () { refresh(false); });
  });
  preview.addEventListener('submit', function (e) { e.preventDefault(); });
  preview.addEventListener('click', function (e) {
    var add = e.target.closest('[data-add-row]');
    if (!add) { return; }
    var set = add.closest('[data-rows]'), tpl = set.querySelector('template');
    var n = Number(set.dataset.next || 0);
    var html = tpl.innerHTML.split('__i__').join(String(n)).split('__n__').join(String(n + 1));
    set.querySelector('tbody').insertAdjacentHTML('beforeend', html);
    set.dataset.next = String(n + 1);
  });
  document.getElementById('fd-add').addEventListener('click', function () {
    addField(schema, document.getElementById('fd-add-kind').value);
  });
  var addKind = document.getElementById('fd-add-kind');
  Object.keys(KINDS).forEach(function (k) { addKind.appendChild(el('option', { value: k, text: KINDS[k] })); });
  var title = document.getElementById('fd-title'), titleZh = document.getElementById('fd-title-zh');
  /* The page comes with the titles filled in; one typed before this script ran is kept
     (it had no listener yet), not overwritten by the value the page came with. */
  if (title.value !== title.defaultValue) { schema.title = title.value; }
  if (titleZh.value !== titleZh.defaultValue) { schema['x-title-zh'] = titleZh.value; }
  title.addEventListener('change', function () { schema.title = title.value; changed(false); });
  titleZh.addEventListener('change', function () { schema['x-title-zh'] = titleZh.value; changed(false); });

  document.getElementById('fd-save').addEventListener('click', function () {
    fetch(box.dataset.urlSave, { method: 'POST', body: JSON.stringify(schema), credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRFToken': csrf, Accept: 'application/json' } })
      .then(answer)
      .then(function (res) {
        if (res[0] === 200) { status.textContent = texts.saved; status.className = 'small mb-2 text-success'; showProblems([]); }
        else { status.textContent = texts.failed; status.className = 'small mb-2 text-danger'; showProblems(problemsOf(res)); }
      });
  });

  draw();
  refresh(false);
  box.dataset.ready = 'true';
}());
