// rocketgo dashboard: a hash-routed single page over the JSON API under /api/.
'use strict';

const main = document.getElementById('main');
let timers = [];   // intervals of the current page, cleared on navigation
let charts = [];   // ECharts instances of the current page
const BROWSE_CAP = 1000; // messages/browse answers at most this many (api_browse.go)
let pageSeq = 0;   // bumps on navigation so late answers of the old page are dropped

// ---- helpers ----------------------------------------------------------------------

function esc(s) {
  return String(s ?? '').replace(/[&<>"']/g, c => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}[c]));
}
function fmtTime(ms) { return ms ? new Date(ms).toLocaleString() : '—'; }
// fmtTimeMs is fmtTime with milliseconds, for trace records that lie within one second.
function fmtTimeMs(ms) {
  return ms ? new Date(ms).toLocaleString(undefined, {year: 'numeric', month: 'numeric', day: 'numeric',
    hour: 'numeric', minute: '2-digit', second: '2-digit', fractionalSecondDigits: 3}) : '—';
}
function num(n) { return Number(n ?? 0).toLocaleString(); }

async function api(path, body) {
  const opts = body === undefined ? {} : {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body)};
  // An answer that arrives after the user moved to another page is dropped: the page
  // that asked must not write over the one now shown (its promise never settles).
  const seq = pageSeq;
  const resp = await fetch('api/' + path, opts);
  let data = null;
  try { data = await resp.json(); } catch (e) { data = {error: 'HTTP ' + resp.status}; }
  if (seq !== pageSeq) return new Promise(() => {});
  if (!resp.ok) throw new Error((data && data.error) || ('HTTP ' + resp.status));
  return data;
}

function flash(msg, ok) {
  const f = document.getElementById('flash');
  f.textContent = msg;
  f.className = ok ? 'ok' : 'bad';
  f.hidden = false;
}
function clearFlash() { document.getElementById('flash').hidden = true; }

// confirmAction asks in a modal dialog; resolves true on Confirm.
function confirmAction(text) {
  const d = document.getElementById('confirm');
  document.getElementById('confirm-text').textContent = text;
  return new Promise(resolve => {
    d.addEventListener('close', () => resolve(d.returnValue === 'ok'), {once: true});
    d.returnValue = '';
    d.showModal();
  });
}

// guarded runs a state-changing action after confirmation and reports its outcome.
async function guarded(question, fn, done) {
  if (!(await confirmAction(question))) return;
  try {
    const r = await fn();
    flash(done(r), true);
  } catch (e) {
    flash(e.message, false);
  }
}

function table(cols, rows, opts = {}) {
  const head = cols.map(c => `<th class="${c.num ? 'num' : ''}">${esc(c.title)}</th>`).join('');
  const body = rows.length ? rows.map((r, i) => `<tr data-i="${i}" class="${opts.click ? 'clickable' : ''}">` +
    cols.map(c => `<td class="${c.num ? 'num' : ''}">${c.html ? c.html(r) : esc(c.get ? c.get(r) : r[c.key])}</td>`).join('') + '</tr>').join('')
    : `<tr><td colspan="${cols.length}" class="muted">${esc(opts.empty || 'nothing')}</td></tr>`;
  return `<table id="${opts.id || ''}"><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

function onRows(id, rows, fn) {
  document.querySelectorAll(`#${id} tbody tr[data-i]`).forEach(tr => tr.addEventListener('click', e => {
    if (e.target.closest('button')) return;
    document.querySelectorAll(`#${id} tr.selected`).forEach(x => x.classList.remove('selected'));
    tr.classList.add('selected');
    fn(rows[Number(tr.dataset.i)]);
  }));
}

function lineChart(el, names) {
  const c = echarts.init(el);
  charts.push(c);
  const series = names.map(n => ({name: n, type: 'line', showSymbol: false, smooth: true, data: []}));
  c.setOption({
    animation: false, tooltip: {trigger: 'axis'}, legend: {data: names, top: 0},
    grid: {left: 50, right: 20, top: 30, bottom: 30},
    xAxis: {type: 'time', min: v => v.max - 180000}, yAxis: {type: 'value', name: 'msg/s', minInterval: 1}, series,
  });
  return {
    push(values) {
      const t = Date.now();
      values.forEach((v, i) => { series[i].data.push([t, v]); if (series[i].data.length > 120) series[i].data.shift(); });
      c.setOption({series});
    },
  };
}

function every(ms, fn) { fn(); timers.push(setInterval(fn, ms)); }

// ---- pages ------------------------------------------------------------------------

const pages = {};

pages.cluster = async (seq) => {
  main.innerHTML = `<h2>Cluster</h2><div class="card"><div id="brokers">loading…</div></div>
    <div class="card"><h3>TPS (all brokers, sampled every 3 s)</h3><div id="tps-chart" class="chart"></div></div>`;
  const chart = lineChart(document.getElementById('tps-chart'), ['put TPS', 'get TPS']);
  every(3000, async () => {
    let d;
    try { d = await api('cluster'); } catch (e) { if (seq === pageSeq) flash(e.message, false); return; }
    if (seq !== pageSeq) return;
    document.getElementById('brokers').innerHTML = `<div class="muted">NameServer ${esc(d.nameServers.join(';'))}</div>` + table([
      {title: 'Cluster', key: 'cluster'}, {title: 'Broker', key: 'brokerName'}, {title: 'ID', key: 'brokerId', num: true},
      {title: 'Address', key: 'addr'}, {title: 'Role', key: 'role'}, {title: 'Version', key: 'version'},
      {title: 'Put TPS', num: true, get: r => r.putTps.toFixed(1)}, {title: 'Get TPS', num: true, get: r => r.getTps.toFixed(1)},
      {title: 'Disk used', num: true, get: r => (r.diskRatio * 100).toFixed(1) + '%'},
      {title: 'Messages put today', num: true, get: r => num(r.stats && r.stats.msgPutTotalTodayNow)},
      {title: 'Up', get: r => (r.stats && r.stats.runtime) || r.error || ''},
    ], d.brokers, {id: 'brokers-table', empty: 'no broker registered'});
    chart.push([d.brokers.reduce((a, b) => a + b.putTps, 0), d.brokers.reduce((a, b) => a + b.getTps, 0)]);
  });
};

pages.topics = async (seq) => {
  main.innerHTML = `<h2>Topics</h2>
    <div class="card"><div class="row">
      <label><input type="checkbox" id="show-system"> show retry, DLQ and system topics</label>
      <input id="topic-filter" placeholder="filter">
      <span style="flex:1"></span>
      <input id="new-topic" placeholder="topic name"> <label>queues <input id="new-queues" type="number" value="8" min="1" max="1024" style="width:70px"></label>
      <button id="create-topic">Create / update</button>
    </div><div id="topic-list">loading…</div></div>
    <div id="topic-detail"></div>`;
  const all = await api('topics');
  if (seq !== pageSeq) return;
  const render = () => {
    const sys = document.getElementById('show-system').checked, f = document.getElementById('topic-filter').value;
    const rows = all.filter(t => (sys || t.kind === 'NORMAL') && t.topic.includes(f));
    document.getElementById('topic-list').innerHTML = table([{title: 'Topic', key: 'topic'}, {title: 'Kind', html: r => `<span class="pill">${esc(r.kind)}</span>`}],
      rows, {id: 'topics-table', click: true, empty: 'no topic'});
    onRows('topics-table', rows, r => showTopic(r.topic, seq));
  };
  document.getElementById('show-system').onchange = render;
  document.getElementById('topic-filter').oninput = render;
  document.getElementById('create-topic').onclick = () => {
    const topic = document.getElementById('new-topic').value.trim(), q = Number(document.getElementById('new-queues').value);
    guarded(`Create or update topic "${topic}" with ${q} read and write queues on every master?`,
      () => api('topic', {topic, readQueueNums: q, writeQueueNums: q}), () => `topic ${topic} saved`);
  };
  render();
};

async function showTopic(topic, seq) {
  const el = document.getElementById('topic-detail');
  el.innerHTML = `<div class="card"><h3>Topic ${esc(topic)}</h3><div id="topic-info">loading…</div>
    <div class="grid2"><div><h3>TPS in (Δ max offset / 3 s)</h3><div id="topic-chart" class="chart"></div></div>
    <div><h3>Send a test message</h3>
      <div class="row"><input id="send-tag" placeholder="tag"><input id="send-keys" placeholder="keys (space separated)"></div>
      <textarea id="send-body" placeholder="body"></textarea>
      <div class="row"><button id="send-btn">Send</button>
      <span style="flex:1"></span><button id="delete-topic" class="danger">Delete topic</button></div>
      <div id="send-result"></div></div></div></div>`;
  timers.forEach(clearInterval); timers = [];
  charts.forEach(c => c.dispose()); charts = [];
  const chart = lineChart(document.getElementById('topic-chart'), ['messages/s']);
  let last = null;
  every(3000, async () => {
    let d;
    try { d = await api('topic?topic=' + encodeURIComponent(topic)); } catch (e) {
      if (seq === pageSeq) document.getElementById('topic-info').innerHTML = `<span class="err">${esc(e.message)}</span>`;
      return;
    }
    if (seq !== pageSeq || !document.getElementById('topic-info')) return;
    const sum = d.queues.reduce((a, q) => a + q.maxOffset, 0), now = Date.now();
    if (last) chart.push([Math.max(0, (sum - last.sum) * 1000 / (now - last.at))]);
    last = {sum, at: now};
    document.getElementById('topic-info').innerHTML =
      `<div class="row"><span>messages stored: <b id="topic-total">${num(d.messages)}</b></span>
       <span>consumer groups: ${d.consumers ? (d.consumers.map(esc).join(', ') || 'none') : `<span class="muted">${esc(d.consumersError)}</span>`}</span>
       <span>perm: ${d.queueDatas.map(q => esc(q.brokerName + '=' + q.perm + ' (r' + q.readQueueNums + '/w' + q.writeQueueNums + ')')).join(', ')}</span></div>` +
      table([{title: 'Broker', key: 'brokerName'}, {title: 'Queue', key: 'queueId', num: true},
        {title: 'Min offset', key: 'minOffset', num: true}, {title: 'Max offset', key: 'maxOffset', num: true},
        {title: 'Last updated', get: r => fmtTime(r.lastUpdateTimestamp)}], d.queues, {id: 'queues-table'});
  });
  document.getElementById('send-btn').onclick = () => {
    const body = {topic, tag: document.getElementById('send-tag').value, keys: document.getElementById('send-keys').value, body: document.getElementById('send-body').value};
    guarded(`Send this message to ${topic}?`, () => api('topic/send', body), r => {
      document.getElementById('send-result').innerHTML = `<span id="send-msgid">${esc(r.msgId)}</span> → ${esc(r.brokerName)}/${r.queueId} @ ${r.queueOffset}`;
      return `sent: ${r.status} ${r.msgId}`;
    });
  };
  document.getElementById('delete-topic').onclick = () =>
    guarded(`Delete topic ${topic} from every broker and NameServer? Its messages become unreachable.`,
      () => api('topic/delete', {topic}), () => `topic ${topic} deleted`);
}

pages.groups = async (seq) => {
  main.innerHTML = `<h2>Consumer groups</h2><div class="card" id="group-list">loading…</div><div id="group-detail"></div>`;
  const rows = await api('groups');
  if (seq !== pageSeq) return;
  document.getElementById('group-list').innerHTML = `<p class="muted">Groups are those with a retry topic (the admin API has no list of subscription groups).</p>` + table([
    {title: 'Group', key: 'group'}, {title: 'Online clients', key: 'clients', num: true}, {title: 'Type', key: 'consumeType'},
    {title: 'Model', key: 'messageModel'}, {title: 'Consume TPS', num: true, get: r => r.consumeTps.toFixed(1)},
    {title: 'Lag', num: true, key: 'lag'}, {title: '', get: r => r.error || ''},
  ], rows, {id: 'groups-table', click: true, empty: 'no consumer group'});
  onRows('groups-table', rows, r => showGroup(r.group, seq));
};

async function showGroup(group, seq) {
  const el = document.getElementById('group-detail');
  el.innerHTML = `<div class="card">loading…</div>`;
  let d;
  try { d = await api('group?group=' + encodeURIComponent(group)); } catch (e) { el.innerHTML = `<div class="card err">${esc(e.message)}</div>`; return; }
  if (seq !== pageSeq) return;
  const topics = [...new Set(d.queues.map(q => q.topic).filter(t => !t.startsWith('%RETRY%')))];
  const local = new Date(Date.now() - new Date().getTimezoneOffset() * 60000).toISOString().slice(0, 19);
  el.innerHTML = `<div class="card"><h3>Group ${esc(group)} — total lag <span id="group-lag">${num(d.lag)}</span></h3>
    ${d.partialError ? `<div class="note">${esc(d.partialError)}</div>` : ''}
    <h3>Online clients</h3>` + (d.connectionError ? `<div class="note">${esc(d.connectionError)}</div>` :
    table([{title: 'Client ID', key: 'clientId'}, {title: 'Address', key: 'clientAddr'}, {title: 'Language', key: 'language'}, {title: 'Version', key: 'version', num: true}],
      d.connections, {id: 'clients-table', empty: 'no client online'}) +
    `<h3>Subscriptions</h3>` + table([{title: 'Topic', key: 'topic'}, {title: 'Expression', key: 'subString'}, {title: 'Type', key: 'expressionType'}], d.subscriptions)) +
    `<h3>Lag per queue</h3>` + table([{title: 'Topic', key: 'topic'}, {title: 'Broker', key: 'brokerName'}, {title: 'Queue', key: 'queueId', num: true},
      {title: 'Broker offset', key: 'brokerOffset', num: true}, {title: 'Consumer offset', key: 'consumerOffset', num: true},
      {title: 'Lag', key: 'lag', num: true}, {title: 'Last consumed', get: r => fmtTime(r.lastTimestamp)}], d.queues, {id: 'lag-table'}) +
    `<h3>Reset offset</h3>
    <div class="note">Stop the group's consumers first: a running consumer commits its in-memory offsets again and overwrites the reset
    (rocketgo brokers do not push resets to live clients).</div>
    <div class="row"><label>topic <select id="reset-topic"><option value="">all topics of the group</option>${topics.map(t => `<option>${esc(t)}</option>`).join('')}</select></label>
    <label>to the first message stored at or after <input id="reset-time" type="datetime-local" step="1" value="${local}"></label>
    <button id="reset-btn">Reset offset</button><button id="skip-btn" class="secondary">Skip accumulated</button></div></div>`;
  const topic = () => document.getElementById('reset-topic').value;
  const after = () => showGroup(group, seq);
  document.getElementById('reset-btn').onclick = () => {
    const v = document.getElementById('reset-time').value, ts = new Date(v).getTime();
    guarded(`Reset ${group} on ${topic() || 'all its topics'} to ${v}?`, () => api('group/reset', {group, topic: topic(), timestamp: ts || 0}),
      r => { after(); return `reset ${r.queues.length} queues of ${group}`; });
  };
  document.getElementById('skip-btn').onclick = () =>
    guarded(`Skip every message of ${group} accumulated so far on ${topic() || 'all its topics'}?`, () => api('group/reset', {group, topic: topic(), skip: true}),
      r => { after(); return `skipped: ${r.queues.length} queues of ${group} moved to now`; });
}

// renderMessages lists messages and shows the clicked one in detail.
function renderMessages(el, msgs, extra) {
  el.innerHTML = table([{title: 'Message ID', key: 'msgId'}, {title: 'Topic', key: 'topic'}, {title: 'Tags', key: 'tags'},
    {title: 'Keys', get: r => r.keys.join(' ')}, {title: 'Queue', get: r => (r.brokerName ? r.brokerName + '/' : 'queue ') + r.queueId + ' @' + r.queueOffset},
    {title: 'Stored', get: r => fmtTime(r.storeTimestamp)}, {title: 'Reconsumed', key: 'reconsumeTimes', num: true}].concat(extra || []),
    msgs, {id: 'msg-table', click: true, empty: 'no message found'}) + '<div id="msg-detail"></div>';
  onRows('msg-table', msgs, showMessage);
  if (msgs.length === 1) showMessage(msgs[0]);
}

function decodeBody(b64) {
  const bin = atob(b64 || '');
  return Uint8Array.from(bin, c => c.charCodeAt(0));
}

function showMessage(m) {
  const bytes = decodeBody(m.body);
  const text = new TextDecoder('utf-8', {fatal: false}).decode(bytes);
  const hex = Array.from(bytes, b => b.toString(16).padStart(2, '0')).join(' ');
  let json = null;
  try { json = JSON.stringify(JSON.parse(text), null, 2); } catch (e) { json = null; }
  const props = Object.entries(m.properties || {}).sort();
  const el = document.getElementById('msg-detail');
  el.innerHTML = `<div class="card"><h3>Message ${esc(m.msgId)}</h3>
    <table class="kv"><tbody>
      <tr><td>offsetMsgId</td><td>${esc(m.offsetMsgId)}</td></tr>
      <tr><td>born</td><td>${esc(fmtTime(m.bornTimestamp))} from ${esc(m.bornHost)}</td></tr>
      <tr><td>stored</td><td>${esc(fmtTime(m.storeTimestamp))} on ${esc(m.storeHost)}, commitlog offset ${m.commitLogOffset}, ${m.storeSize} bytes</td></tr>
      ${props.map(([k, v]) => `<tr><td>${esc(k)}</td><td>${esc(v)}</td></tr>`).join('')}
    </tbody></table>
    <div class="row"><b>Body</b> (${bytes.length} bytes)
      <label><input type="radio" name="bodyview" value="text" checked> text</label>
      <label><input type="radio" name="bodyview" value="hex"> hex</label>
      <label><input type="radio" name="bodyview" value="json" ${json ? '' : 'disabled'}> JSON</label></div>
    <pre id="msg-body"></pre>
    ${m.bodyOmitted ? '<div class="note">The body was left out of this list (too many bytes); search by the offsetMsgId to see it.</div>' : ''}
    <div class="row"><b>Resend to a consumer group</b>
      <input id="resend-group" placeholder="consumer group"><input id="resend-client" placeholder="client id (empty: any online)" size="30">
      <button id="resend-btn">Resend</button></div>
    <div class="row"><button id="trace-btn" class="secondary">Show trace</button></div><div id="trace"></div></div>`;
  const pre = document.getElementById('msg-body');
  const show = v => { pre.textContent = v === 'hex' ? hex : v === 'json' ? json : text; };
  el.querySelectorAll('input[name=bodyview]').forEach(r => r.onchange = () => show(r.value));
  show('text');
  document.getElementById('resend-btn').onclick = () => {
    const group = document.getElementById('resend-group').value.trim(), clientId = document.getElementById('resend-client').value.trim();
    guarded(`Make ${clientId || 'an online consumer'} of group ${group} consume message ${m.msgId} now?`,
      async () => {
        const r = await api('messages/resend', {group, clientId, offsetMsgId: m.offsetMsgId});
        const what = `${r.clientId}: ${r.consumeResult}${r.remark ? ' (' + r.remark + ')' : ''}`;
        if (r.consumeResult !== 'CR_SUCCESS') throw new Error('resent, but not consumed by ' + what);
        return what;
      },
      what => 'resent to ' + what);
  };
  document.getElementById('trace-btn').onclick = async () => {
    const t = document.getElementById('trace');
    try {
      const recs = await api('trace?id=' + encodeURIComponent(m.msgId));
      showTrace(t, recs);
    } catch (e) { t.innerHTML = `<span class="err">${esc(e.message)}</span>`; }
  };
}

// ---- message trace ----------------------------------------------------------------

// traceRows turns trace records into timeline rows as rocketmq-dashboard's trace view does:
// a Pub row per send, an EndTransaction row per commit or rollback, and a Sub row per
// consumption, which pairs a SubBefore (start, consumer host) with its SubAfter (cost,
// status) by request id and message id.
function traceRows(recs) {
  const rows = [], subs = new Map();
  const host = r => r.BornHost || r.ClientHost || '';
  for (const r of recs) {
    if (r.Type === 'Pub' || r.Type === 'EndTransaction') {
      rows.push({type: r.Type, group: r.Group, host: host(r), start: r.Timestamp, cost: r.CostTime || 0,
        status: r.Type === 'Pub' ? (r.Success ? 'success' : 'failed') : r.TransactionState});
    } else if (r.Type === 'SubBefore' || r.Type === 'SubAfter') {
      const k = r.RequestID + '\0' + r.MsgID;
      if (!subs.has(k)) subs.set(k, {type: 'Sub', status: 'pending', cost: 0});
      const s = subs.get(k);
      if (r.Type === 'SubBefore') {
        Object.assign(s, {group: r.Group, host: host(r), start: r.Timestamp, retry: r.RetryTimes});
      } else {
        Object.assign(s, {cost: r.CostTime || 0, status: r.Success ? 'success' : 'failed', end: r.Timestamp});
        if (!s.group) s.group = r.Group;
        if (!s.host) s.host = host(r);
      }
    }
  }
  for (const s of subs.values()) {
    if (s.start === undefined) s.start = (s.end || 0) - s.cost; // a SubAfter whose SubBefore is lost
    rows.push(s);
  }
  const rank = {Pub: 0, EndTransaction: 1, Sub: 2};
  return rows.sort((a, b) => rank[a.type] - rank[b.type] || a.start - b.start);
}

// traceChart draws one horizontal bar per row, from its start to start + cost, on an axis
// of milliseconds since the earliest start.
function traceChart(el, rows) {
  const t0 = Math.min(...rows.map(r => r.start));
  const labels = rows.map(r => `${r.type} ${r.group || ''}`);
  const colors = {Pub: '#1d3557', EndTransaction: '#7b2cbf', Sub: '#2a9d8f'};
  el.style.height = (70 + rows.length * 34) + 'px';
  const c = echarts.init(el);
  charts.push(c);
  c.setOption({
    animation: false,
    grid: {left: 10, right: 90, top: 10, bottom: 30, containLabel: true},
    tooltip: {formatter: p => { const r = rows[p.value[0]];
      return `${esc(r.type)} ${esc(r.group)}<br>${esc(fmtTimeMs(r.start))}` +
        ` +${r.start - t0} ms, cost ${r.cost} ms, ${esc(r.status)}`; }},
    xAxis: {type: 'value', min: 0, name: 'ms', axisLabel: {formatter: v => '+' + v}},
    yAxis: {type: 'category', data: labels, inverse: true},
    series: [{
      type: 'custom',
      renderItem: (params, api) => {
        const y = api.value(0), from = api.coord([api.value(1), y]), to = api.coord([api.value(2), y]);
        const h = api.size([0, 1])[1] * 0.5;
        const w = Math.max(to[0] - from[0], 3), r = rows[y];
        return {type: 'group', children: [
          {type: 'rect', shape: {x: from[0], y: from[1] - h / 2, width: w, height: h},
            style: {fill: r.status === 'failed' ? '#c1121f' : colors[r.type] || '#888'}},
          {type: 'text', x: from[0] + w + 4, y: from[1], style: {text: `cost ${r.cost} ms`, fill: '#425466', verticalAlign: 'middle', fontSize: 11}},
        ]};
      },
      encode: {x: [1, 2], y: 0},
      data: rows.map((r, i) => [i, r.start - t0, r.start - t0 + r.cost]),
    }],
  });
}

// showTrace renders a message's trace records as a timeline, a table and, folded, the raw records.
function showTrace(el, recs) {
  if (!recs.length) {
    el.innerHTML = '<p class="muted">no trace records (tracing is off for its producer and consumers, or they are not stored yet)</p>';
    return;
  }
  const rows = traceRows(recs);
  el.innerHTML = `<h3>Trace</h3><div id="trace-chart" class="trace-chart"></div>` + table([
    {title: 'Type', key: 'type'}, {title: 'Group', key: 'group'}, {title: 'Client host', key: 'host'},
    {title: 'Time', get: r => fmtTimeMs(r.start)}, {title: 'Cost', num: true, get: r => r.cost + ' ms'},
    {title: 'Status', html: r => `<span class="pill ${r.status === 'failed' ? 'bad' : ''}">${esc(r.status)}</span>`},
  ], rows, {id: 'trace-table'}) +
    `<details><summary>${recs.length} raw trace records</summary><pre>${esc(JSON.stringify(recs, null, 2))}</pre></details>`;
  traceChart(document.getElementById('trace-chart'), rows);
}

pages.messages = async () => {
  const hourAgo = new Date(Date.now() - 3600e3 - new Date().getTimezoneOffset() * 60000).toISOString().slice(0, 16);
  main.innerHTML = `<h2>Messages</h2>
    <div class="card"><h3>By topic and time range</h3><div class="row">
      <input id="browse-topic" placeholder="topic">
      <label>from <input id="browse-begin" type="datetime-local" step="0.001" value="${hourAgo}"></label>
      <label>to <input id="browse-end" type="datetime-local" step="0.001"></label>
      <button id="msg-browse">Browse</button></div>
      <div class="muted">Reads every queue from the offset at the start time to the offset at the end time (empty: now);
      newest first, at most ${BROWSE_CAP} messages.</div>
      <h3>By key</h3><div class="row">
      <input id="msg-topic" placeholder="topic"><input id="msg-key" placeholder="key">
      <label>from <input id="msg-begin" type="datetime-local" value="${hourAgo}"></label>
      <label>to <input id="msg-end" type="datetime-local"></label>
      <button id="msg-search-key">Search</button></div>
      <h3>By message ID</h3><div class="row">
      <input id="msg-id-topic" placeholder="topic (needed for a unique id)"><input id="msg-id" placeholder="msgId or offsetMsgId" size="40">
      <button id="msg-search-id">Search</button></div>
      </div>
    <div class="card" id="msg-results"><span class="muted">no search yet</span></div>`;
  const res = document.getElementById('msg-results');
  const run = async q => {
    res.textContent = 'searching…';
    try { renderMessages(res, await api(q)); } catch (e) { res.innerHTML = `<span class="err">${esc(e.message)}</span>`; }
  };
  const ms = id => { const v = document.getElementById(id).value; return v ? new Date(v).getTime() : 0; };
  document.getElementById('msg-browse').onclick = async () => {
    res.textContent = 'reading…';
    const q = `messages/browse?topic=${encodeURIComponent(document.getElementById('browse-topic').value.trim())}` +
      `&begin=${ms('browse-begin')}&end=${ms('browse-end')}`;
    try {
      const r = await api(q);
      renderMessages(res, r.messages);
      const notes = [];
      if (r.truncated) notes.push(`only the newest ${r.cap} messages of the range are shown`);
      if (r.error) notes.push('some queues could not be read: ' + r.error);
      if (notes.length) res.insertAdjacentHTML('afterbegin', `<div class="note" id="browse-note">${esc(notes.join('; '))}</div>`);
      res.insertAdjacentHTML('afterbegin', `<div class="muted" id="browse-count">${r.messages.length} message(s)</div>`);
    } catch (e) { res.innerHTML = `<span class="err">${esc(e.message)}</span>`; }
  };
  document.getElementById('msg-search-key').onclick = () => run(`messages/key?topic=${encodeURIComponent(document.getElementById('msg-topic').value)}` +
    `&key=${encodeURIComponent(document.getElementById('msg-key').value)}&begin=${ms('msg-begin')}&end=${ms('msg-end')}`);
  document.getElementById('msg-search-id').onclick = () => run(`messages/id?topic=${encodeURIComponent(document.getElementById('msg-id-topic').value)}` +
    `&id=${encodeURIComponent(document.getElementById('msg-id').value)}`);
};

pages.dlq = async () => {
  main.innerHTML = `<h2>Dead letters</h2><div class="card"><div class="row">
    <input id="dlq-group" placeholder="consumer group"><button id="dlq-load">List</button></div>
    <div class="muted">Resending puts a dead letter back on the group's retry topic with reconsume times 0; it also stays in the DLQ.</div></div>
    <div id="dlq-list"></div>`;
  const load = async () => {
    const group = document.getElementById('dlq-group').value.trim(), el = document.getElementById('dlq-list');
    let pages;
    try { pages = await api('dlq?group=' + encodeURIComponent(group)); } catch (e) { el.innerHTML = `<div class="card err">${esc(e.message)}</div>`; return; }
    el.innerHTML = pages.map((p, i) => `<div class="card"><h3>Broker ${esc(p.addr)} — DLQ offsets ${p.min}..${p.max}</h3>
      ${p.error ? `<div class="err">${esc(p.error)}</div>` : ''}<div id="dlq-page-${i}"></div></div>`).join('');
    pages.forEach((p, i) => {
      const box = document.getElementById('dlq-page-' + i);
      renderMessages(box, p.messages, [{title: '', html: r => `<button class="dlq-resend" data-off="${r.queueOffset}">Resend</button>`}]);
      box.querySelectorAll('button.dlq-resend').forEach(b => b.onclick = () => guarded(
        `Resend dead letter at DLQ offset ${b.dataset.off} on ${p.addr} to group ${group}?`,
        () => api('dlq/resend', {group, addr: p.addr, offset: Number(b.dataset.off), count: 1}), r => `resent ${r.resent} message(s)`));
    });
  };
  document.getElementById('dlq-load').onclick = load;
};

pages.transactions = async () => {
  main.innerHTML = `<h2>Pending transactions</h2><div class="card"><div class="row">
    <input id="tx-group" placeholder="producer group (empty: all)"><button id="tx-load">List</button></div></div><div class="card" id="tx-list">loading…</div>`;
  const load = async () => {
    const el = document.getElementById('tx-list');
    let rows;
    try { rows = await api('transactions?group=' + encodeURIComponent(document.getElementById('tx-group').value.trim())); } catch (e) {
      el.innerHTML = `<span class="err">${esc(e.message)}</span>`; return;
    }
    el.innerHTML = table([{title: 'Transaction (msgId)', key: 'MsgID'}, {title: 'Producer group', key: 'ProducerGroup'},
      {title: 'Topic', get: r => r.MessageQueue.topic + ' / ' + r.MessageQueue.queueId}, {title: 'Broker', key: 'BrokerAddr'},
      {title: 'Stored', get: r => new Date(r.Stored).toLocaleString()}, {title: 'Check-backs', key: 'Checks', num: true},
      {title: '', html: (r) => `<button class="tx-commit">Commit</button> <button class="tx-rollback danger">Roll back</button>`}],
      rows, {id: 'tx-table', empty: 'no pending transaction'});
    el.querySelectorAll('#tx-table tbody tr[data-i]').forEach(tr => {
      const r = rows[Number(tr.dataset.i)];
      const act = commit => guarded(`${commit ? 'Commit' : 'Roll back'} transaction ${r.MsgID}?`,
        () => api('transactions/resolve', {brokerAddr: r.BrokerAddr, commitLogOffset: r.CommitLogOffset, producerGroup: r.ProducerGroup, msgId: r.MsgID, commit}),
        () => { load(); return `${commit ? 'committed' : 'rolled back'} ${r.MsgID}`; });
      tr.querySelector('.tx-commit').onclick = () => act(true);
      tr.querySelector('.tx-rollback').onclick = () => act(false);
    });
  };
  document.getElementById('tx-load').onclick = load;
  load();
};

pages.timers = async () => {
  main.innerHTML = `<h2>Timer messages</h2><div class="card"><div class="row">
    <input id="timers-topic" placeholder="topic (empty: all)"><button id="timers-load">List</button></div>
    <div class="muted">Pending timer messages by due time, then delay-level messages by level. Only timer messages can be cancelled.</div></div>
    <div class="card" id="timers-list">loading…</div>
    <div class="card"><h3>Cancel by id</h3>
    <div class="row"><input id="timer-topic" placeholder="topic"><input id="timer-id" placeholder="msgId" size="40"><button id="timer-cancel" class="danger">Cancel</button></div></div>`;
  const cancel = (topic, msgId) => guarded(`Cancel timer message ${msgId} of ${topic}?`, () => api('timer/cancel', {topic, msgId}),
    r => { load(); return r.cancelled ? `cancelled ${r.cancelled} timer message(s)` : 'nothing pending with this id (delivered, cancelled, or a delay-level message)'; });
  const load = async () => {
    const el = document.getElementById('timers-list');
    let r;
    try { r = await api('timers?topic=' + encodeURIComponent(document.getElementById('timers-topic').value.trim())); } catch (e) {
      el.innerHTML = `<span class="err">${esc(e.message)}</span>`; return;
    }
    el.innerHTML = (r.more ? '<div class="note">More pending messages than listed: name a topic.</div>' : '') +
      (r.error ? `<div class="err">${esc(r.error)}</div>` : '') +
      table([{title: 'Message ID', key: 'msgId'}, {title: 'Topic', get: t => t.messageQueue.topic + ' / ' + t.messageQueue.queueId},
        {title: 'Tags', key: 'tags'}, {title: 'Keys', key: 'keys'}, {title: 'Kind', get: t => t.delayLevel ? 'delay level ' + t.delayLevel : 'timer'},
        {title: 'Due', get: t => new Date(t.due).toLocaleString()}, {title: 'Stored', get: t => new Date(t.stored).toLocaleString()},
        {title: 'Broker', key: 'brokerAddr'},
        {title: '', html: t => t.delayLevel ? '' : '<button class="timer-row-cancel danger">Cancel</button>'}],
      r.timers, {id: 'timers-table', empty: 'no pending timer message'});
    el.querySelectorAll('#timers-table tbody tr[data-i]').forEach(tr => {
      const t = r.timers[Number(tr.dataset.i)], b = tr.querySelector('.timer-row-cancel');
      if (b) b.onclick = () => cancel(t.messageQueue.topic, t.msgId);
    });
  };
  document.getElementById('timers-load').onclick = load;
  document.getElementById('timer-cancel').onclick = () =>
    cancel(document.getElementById('timer-topic').value.trim(), document.getElementById('timer-id').value.trim());
  load();
};

pages.config = async (seq) => {
  main.innerHTML = `<h2>Configuration</h2><div class="note">The broker's static configuration (GET_BROKER_CONFIG) is not supported by the admin API;
    shown here is each broker's live runtime information (GET_BROKER_RUNTIME_INFO), as mqadmin brokerStatus prints it.</div><div id="config-list">loading…</div>`;
  const d = await api('cluster');
  if (seq !== pageSeq) return;
  document.getElementById('config-list').innerHTML = d.brokers.map(b => `<div class="card"><h3>${esc(b.brokerName)} (${esc(b.role)}, ${esc(b.addr)})</h3>` +
    (b.error ? `<div class="err">${esc(b.error)}</div>` : `<table class="kv runtime-table"><tbody>${Object.entries(b.stats).sort()
      .map(([k, v]) => `<tr><td>${esc(k)}</td><td>${esc(v)}</td></tr>`).join('')}</tbody></table>`) + '</div>').join('') ||
    '<p class="muted">no broker registered</p>';
};

// Controller mode (docs/failover.md): each group's master, epochs and SyncStateSet from
// the controller, and each broker's epoch entries.
pages.controller = async (seq) => {
  main.innerHTML = `<h2>Controller</h2><div id="ctrl">loading…</div>`;
  const d = await api('controller');
  if (seq !== pageSeq) return;
  const el = document.getElementById('ctrl');
  if (!d.configured) {
    el.innerHTML = `<div class="note" id="ctrl-none">controller mode not configured (start the dashboard with -controller host:port;host:port)</div>`;
    return;
  }
  el.innerHTML = `<div class="muted">Controllers ${esc(d.controllers.join(';'))}</div>` + (d.groups.map((g, i) => `<div class="card ctrl-group" id="ctrl-group-${i}">
    <h3>${esc(g.brokerName)}${g.cluster ? ` (cluster ${esc(g.cluster)})` : ''}</h3>` + (g.error ? `<div class="err">${esc(g.error)}</div>` :
    `<table class="kv ctrl-master"><tbody><tr><td>Master</td><td class="ctrl-master-addr">${esc(g.masterAddr || '— none —')}</td></tr>
      <tr><td>Master brokerId</td><td class="ctrl-master-id">${esc(g.masterBrokerId)}</td></tr>
      <tr><td>Master epoch</td><td class="ctrl-master-epoch">${esc(g.masterEpoch)}</td></tr>
      <tr><td>SyncStateSet epoch</td><td class="ctrl-sss-epoch">${esc(g.syncStateSetEpoch)}</td></tr></tbody></table>` +
    table([{title: 'brokerId', key: 'brokerId', num: true}, {title: 'Address', key: 'addr'}, {title: 'Role', key: 'role'},
      {title: 'In SyncStateSet', get: r => r.inSync ? 'yes' : 'no'}, {title: 'Alive', get: r => r.alive ? 'yes' : 'no'}],
      g.replicas, {id: 'ctrl-replicas-' + i, empty: 'no replica registered'})) +
    `<h3>Epoch entries</h3>` + table([{title: 'brokerId', key: 'brokerId', num: true}, {title: 'Address', key: 'addr'},
      {title: 'Epochs', html: r => r.error ? `<span class="err">${esc(r.error)}</span>` :
        esc(r.epochs.map(e => `epoch ${e.epoch}: ${e.startOffset}..${e.endOffset}`).join(', ') || 'none')}],
      g.brokers, {id: 'ctrl-epochs-' + i, empty: 'no broker registered'}) + '</div>').join('') || '<p class="muted">no broker registered</p>');
};

// ---- router -----------------------------------------------------------------------

async function route() {
  const name = (location.hash.replace(/^#\/?/, '').split('/')[0]) || 'cluster';
  const page = pages[name] || pages.cluster;
  timers.forEach(clearInterval); timers = [];
  charts.forEach(c => c.dispose()); charts = [];
  clearFlash();
  const seq = ++pageSeq;
  document.querySelectorAll('#nav a').forEach(a => a.classList.toggle('active', a.dataset.page === name));
  try { await page(seq); } catch (e) { if (seq === pageSeq) flash(e.message, false); }
  if (seq === pageSeq) document.body.dataset.page = name;
}

window.addEventListener('hashchange', route);
window.addEventListener('resize', () => charts.forEach(c => c.resize()));
route();
