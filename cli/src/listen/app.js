// hooksig listen: keeps the list live (Server-Sent Events) and drives the Replay and
// Copy buttons. Delivery content is only ever inserted with textContent.
(function () {
  'use strict';
  var meta = document.querySelector('meta[name="hooksig-token"]');
  var token = meta ? meta.getAttribute('content') : '';

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function row(d) {
    var verified = d.verdict === 'verified';
    var tr = el('tr', verified ? 'verified' : 'rejected');
    tr.dataset.id = String(d.id);
    var time = el('td');
    var link = el('a', null, d.received_at);
    link.href = '/_hooksig/deliveries/' + encodeURIComponent(String(d.id));
    time.appendChild(link);
    tr.appendChild(time);
    tr.appendChild(el('td', 'path', d.path));
    tr.appendChild(el('td', 'size', String(d.size) + ' B'));
    var verdict = el('td');
    verdict.appendChild(el('span', 'badge ' + (verified ? 'verified' : 'rejected'), d.verdict));
    tr.appendChild(verdict);
    var who = el('td');
    if (d.key) who.appendChild(el('span', 'key', d.key));
    else if (d.error) who.appendChild(el('span', 'error', d.error));
    tr.appendChild(who);
    var hints = el('td');
    if (Array.isArray(d.hints) && d.hints.length) {
      var ul = el('ul', 'hints');
      d.hints.forEach(function (h) { ul.appendChild(el('li', null, h)); });
      hints.appendChild(ul);
    }
    tr.appendChild(hints);
    return tr;
  }

  var list = document.getElementById('deliveries');
  if (list && window.EventSource) {
    var live = document.getElementById('live');
    var events = new EventSource('/_hooksig/api/events');
    events.onopen = function () { if (live) live.classList.add('on'); };
    events.onerror = function () { if (live) live.classList.remove('on'); };
    events.addEventListener('delivery', function (e) {
      var d;
      try { d = JSON.parse(e.data); } catch (_) { return; }
      var old = list.querySelector('tr[data-id="' + String(Number(d.id)) + '"]');
      var fresh = row(d);
      if (old) old.replaceWith(fresh); else list.insertBefore(fresh, list.firstChild);
      var empty = document.getElementById('empty');
      if (empty) empty.remove();
    });
  }

  var replay = document.getElementById('replay');
  if (replay && !replay.disabled) {
    replay.addEventListener('click', function () {
      var out = document.getElementById('replay-result');
      replay.disabled = true;
      fetch('/_hooksig/api/deliveries/' + encodeURIComponent(replay.dataset.id) + '/replay', {
        method: 'POST',
        headers: { 'X-Hooksig-Token': token }
      }).then(function (r) {
        return r.json().catch(function () { return { error: 'HTTP ' + r.status }; });
      }).then(function (f) {
        out.textContent = f.status ? ('answered ' + f.status + ' in ' + f.latency_ms + ' ms') : ('failed: ' + (f.error || 'unknown'));
      }).catch(function (e) {
        out.textContent = 'failed: ' + e;
      }).then(function () { replay.disabled = false; });
    });
  }

  var copy = document.getElementById('copy');
  var curl = document.getElementById('curl');
  if (copy && curl && navigator.clipboard) {
    copy.addEventListener('click', function () {
      navigator.clipboard.writeText(curl.textContent).then(function () { copy.textContent = 'Copied'; });
    });
  }
})();
