// The live view's map and list (docs/live-view.md). Board text is only ever set as textContent.
(function () {
  'use strict';
  var order = ['fault', 'offline', 'clock-unsynchronised', 'data-gap', 'overridden', 'ok', 'never-seen'];
  var table = document.getElementById('poles');
  var body = table.tBodies[0];
  var rows = new Map();
  Array.prototype.forEach.call(body.rows, function (row) { rows.set(row.dataset.device, row); });

  var mapElement = document.getElementById('map');
  var map = L.map(mapElement, { preferCanvas: true, maxZoom: 19 });
  var tileURL = mapElement.dataset.tileUrl;
  if (tileURL) { L.tileLayer(tileURL, { maxZoom: 19 }).addTo(map); }
  // A cluster takes the colour of the worst condition among its poles.
  var cluster = L.markerClusterGroup({
    chunkedLoading: true,
    iconCreateFunction: function (group) {
      var worst = order.length - 1;
      group.getAllChildMarkers().forEach(function (marker) {
        var index = order.indexOf(marker.condition);
        if (index >= 0 && index < worst) { worst = index; }
      });
      return L.divIcon({ html: '<div><span>' + group.getChildCount() + '</span></div>', className: 'marker-cluster c-' + order[worst], iconSize: L.point(40, 40) });
    }
  });
  map.addLayer(cluster);
  var markers = new Map();
  var fitted = false;

  function time(iso) { return iso ? iso.replace(/\.\d+Z$/, 'Z').replace('T', 'T') : 'never'; }
  function number(value) { return typeof value === 'number' && isFinite(value) ? value.toFixed(1) : '–'; }

  function icon(condition) {
    return L.divIcon({ className: 'c-' + condition, html: '<div class="pole-icon"></div>', iconSize: [14, 14] });
  }

  function alarmText(summary) {
    return (summary.alarms || []).map(function (alarm) {
      return alarm.title + ' since ' + time(alarm.since) + (alarm.acknowledged ? ' (acknowledged)' : '');
    }).join('; ');
  }

  function updateRow(summary) {
    var device = summary.pole.device;
    var row = rows.get(device);
    if (!row) {
      row = body.insertRow();
      row.dataset.device = device;
      ['condition', 'pole', 'level', 'alarms', 'seen', 'schedule', 'backlog'].forEach(function (name) { row.insertCell().className = name; });
      row.cells[0].innerHTML = '<span class="dot"></span><span class="text"></span>';
      var link = document.createElement('a');
      link.href = '/poles/' + encodeURIComponent(device);
      row.cells[1].appendChild(link);
      row.cells[2].innerHTML = '<span class="value"></span> <small class="reason"></small>';
      rows.set(device, row);
    }
    row.className = 'c-' + summary.condition;
    row.dataset.order = order.indexOf(summary.condition);
    row.dataset.seen = summary.lastSeen ? Date.parse(summary.lastSeen) / 1000 : 0;
    row.cells[0].querySelector('.text').textContent = summary.condition;
    row.cells[1].querySelector('a').textContent = summary.pole.label;
    row.cells[2].querySelector('.value').textContent = summary.lampLevelPercent == null ? '–' : number(summary.lampLevelPercent) + ' %';
    row.cells[2].querySelector('.reason').textContent = summary.lampReason || '';
    row.cells[3].textContent = alarmText(summary);
    row.cells[4].textContent = time(summary.lastSeen);
    row.cells[5].textContent = (summary.appliedScheduleVersion == null ? '–' : summary.appliedScheduleVersion) + ' / ' +
      (summary.publishedScheduleVersion == null ? '–' : summary.publishedScheduleVersion);
    // Records the board still held after its newest-sent batch; unknown (–) for a board that does not say.
    row.dataset.backlog = summary.backlogRecords == null ? -1 : summary.backlogRecords;
    if (row.cells.length > 6) { row.cells[6].textContent = summary.backlogRecords == null ? '–' : String(summary.backlogRecords); }
  }

  function updateMarker(summary) {
    if (!summary.inInventory) { return; }
    var device = summary.pole.device;
    var marker = markers.get(device);
    if (!marker) {
      marker = L.marker([summary.pole.latitudeDegrees, summary.pole.longitudeDegrees], { icon: icon(summary.condition), title: summary.pole.label });
      marker.on('click', function () { window.location.href = '/poles/' + encodeURIComponent(device); });
      markers.set(device, marker);
      marker.condition = summary.condition;
      cluster.addLayer(marker);
    } else if (marker.condition !== summary.condition) {
      marker.condition = summary.condition;
      marker.setIcon(icon(summary.condition));
      cluster.refreshClusters(marker);
    }
  }

  function update(summary) { updateRow(summary); updateMarker(summary); }

  function recount() {
    var counts = {};
    rows.forEach(function (row) { var c = row.className.slice(2); counts[c] = (counts[c] || 0) + 1; });
    document.querySelectorAll('[data-count]').forEach(function (element) { element.textContent = counts[element.dataset.count] || 0; });
  }

  var loaded = false;
  var pending = [];
  var source = new EventSource('/api/events');
  var state = document.getElementById('live-state');
  source.onopen = function () { state.textContent = 'live'; };
  source.onerror = function () { state.textContent = 'reconnecting…'; };
  source.addEventListener('pole', function (event) {
    var summary = JSON.parse(event.data);
    if (!loaded) { pending.push(summary); return; }
    update(summary);
    recount();
  });

  fetch('/api/poles', { credentials: 'same-origin' }).then(function (response) {
    if (response.status === 401) { window.location.href = '/login'; return []; }
    return response.json();
  }).then(function (poles) {
    poles.forEach(update);
    pending.forEach(update);
    pending = [];
    loaded = true;
    recount();
    var placed = poles.filter(function (p) { return p.inInventory; });
    if (placed.length > 0 && !fitted) {
      map.fitBounds(L.latLngBounds(placed.map(function (p) { return [p.pole.latitudeDegrees, p.pole.longitudeDegrees]; })), { padding: [20, 20] });
      fitted = true;
    } else if (!fitted) {
      map.setView([0, 0], 2);
    }
    document.body.dataset.poles = String(markers.size);
  });

  // Sorting: click a heading; again to reverse.
  var sortKey = null;
  var ascending = true;
  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (heading, index) {
    heading.addEventListener('click', function () {
      var key = heading.dataset.key;
      ascending = sortKey === key ? !ascending : true;
      sortKey = key;
      var list = Array.prototype.slice.call(body.rows);
      list.sort(function (a, b) {
        var x, y;
        if (key === 'order' || key === 'seen' || key === 'backlog') { x = Number(a.dataset[key]); y = Number(b.dataset[key]); }
        else { x = a.cells[index].textContent; y = b.cells[index].textContent; }
        return (x < y ? -1 : x > y ? 1 : 0) * (ascending ? 1 : -1);
      });
      list.forEach(function (row) { body.appendChild(row); });
    });
  });
})();
