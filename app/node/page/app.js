// The caf-mcp node's dashboard (docs/node.md, "The page").
//
// Live state comes from /api/events: EventSource when the node needs no
// token; with a token, fetch() and a small SSE reader (EventSource cannot
// send an Authorization header, and the token must stay out of URLs).
// Numbers and plots come from GET /api/servers every 2 s. Server text is
// only ever put into the page with textContent (never as markup).
'use strict';

(() => {
  const POLL_MS = 2000;
  const PLOT_SPAN_MS = 5 * 60 * 1000;
  const MAX_SAMPLES = 150;
  const MAX_LOG = 500;
  const TOKEN_KEY = 'caf-mcp-node-token';
  const LEVELS = ['debug', 'info', 'notice', 'warning', 'error', 'critical',
    'alert', 'emergency'];
  const SVG = 'http://www.w3.org/2000/svg';

  const $ = (id) => document.getElementById(id);
  const servers = new Map(); // name -> {info, el, samples, tools, toolsFor, last}
  const logEntries = []; // newest first
  let token = sessionStorage.getItem(TOKEN_KEY) || '';
  let stream = null; // {close()}
  let pollTimer = null;
  let callId = null; // the progress id of the latest call from the form
  let callRunning = false;
  let prefilledFor = null; // "server\ntool" whose arguments fill the textarea
  let polling = false; // a periodic snapshot is under way
  let started = false;

  // -- small helpers ----------------------------------------------------------

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function headers(extra) {
    const h = Object.assign({}, extra || {});
    if (token) h.Authorization = `Bearer ${token}`;
    return h;
  }

  class Unauthorized extends Error {}

  /// fetch + JSON; a 401 asks for the token and throws Unauthorized.
  async function api(path, opts) {
    const o = Object.assign({}, opts || {});
    const sent = token;
    o.headers = headers(o.headers);
    o.cache = 'no-store';
    const res = await fetch(path, o);
    if (res.status === 401) {
      // A 401 for a token that has been replaced meanwhile says nothing
      // about the new one.
      if (sent === token) askToken(Boolean(sent));
      throw new Unauthorized('unauthorized');
    }
    let body = null;
    try {
      body = await res.json();
    } catch (e) {
      body = null;
    }
    return { status: res.status, ok: res.ok, body };
  }

  // The notice line: the node's reachability (from polls) and the last
  // config reload, kept apart so that a good poll does not hide a rejection.
  const notices = { node: '', config: '' };

  function notice(kind, text) {
    notices[kind] = text || '';
    const all = [notices.node, notices.config].filter(Boolean).join(' · ');
    const n = $('notice');
    n.textContent = all;
    n.hidden = !all;
  }

  function fmtMs(v) {
    if (v === null || v === undefined || !Number.isFinite(Number(v))) return '–';
    const n = Number(v);
    return n < 10 ? `${n.toFixed(2)} ms` : `${n.toFixed(0)} ms`;
  }

  function ago(iso) {
    if (!iso) return '–';
    const t = Date.parse(iso);
    if (!Number.isFinite(t)) return String(iso);
    const s = Math.max(0, Math.round((Date.now() - t) / 1000));
    const when = new Date(t).toLocaleTimeString();
    if (s < 60) return `${when} (${s} s ago)`;
    if (s < 3600) return `${when} (${Math.floor(s / 60)} min ago)`;
    if (s < 86400) return `${when} (${Math.floor(s / 3600)} h ago)`;
    return `${new Date(t).toLocaleString()} (${Math.floor(s / 86400)} d ago)`;
  }

  function stateOf(info) {
    return info.disabled ? 'disabled' : (info.state || 'down');
  }

  function compact(v) {
    if (typeof v === 'string') return v;
    try {
      return JSON.stringify(v);
    } catch (e) {
      return String(v);
    }
  }

  // -- status -----------------------------------------------------------------

  /// The status reflects the event stream only (polls do not change it).
  function setLive(on) {
    const s = $('status');
    s.textContent = on ? 'live' : 'reconnecting';
    s.setAttribute('data-state', on ? 'live' : 'reconnecting');
    // Cards keep their last known values while the node is away: dim them.
    $('cards').classList.toggle('stale', !on);
  }

  function updateCounts() {
    const n = { healthy: 0, degraded: 0, down: 0 };
    for (const s of servers.values()) {
      const st = s.info.disabled ? null : s.info.state;
      if (st in n) n[st]++;
    }
    $('count-healthy').textContent = `${n.healthy} healthy`;
    $('count-degraded').textContent = `${n.degraded} degraded`;
    $('count-down').textContent = `${n.down} down`;
  }

  // -- cards ------------------------------------------------------------------

  const FIELDS = [
    ['transport', 'transport'], ['phase', 'phase'],
    ['connected-since', 'connected since'], ['reconnects', 'reconnects'],
    ['rtt', 'round trip'], ['calls-ok', 'calls ok'],
    ['calls-failed', 'calls failed'], ['calls-is-error', 'isError'],
    ['in-flight', 'in flight'], ['last-error', 'last error'], ['url', 'url'],
  ];

  function makeCard(name) {
    const card = el('article', 'card');
    card.setAttribute('data-server', name);
    const head = el('header');
    head.append(el('h3', null, name));
    const word = el('span', 'state-word');
    word.setAttribute('data-field', 'state');
    head.append(word);
    card.append(head);
    const desc = el('p', 'desc');
    desc.setAttribute('data-field', 'description');
    card.append(desc);
    const dl = el('dl', 'facts');
    const fields = {};
    for (const [key, label] of FIELDS) {
      dl.append(el('dt', null, label));
      const dd = el('dd');
      dd.setAttribute('data-field', key);
      fields[key] = dd;
      dl.append(dd);
    }
    card.append(dl);
    const svg = document.createElementNS(SVG, 'svg');
    svg.setAttribute('class', 'plot');
    svg.setAttribute('viewBox', '0 0 300 70');
    svg.setAttribute('preserveAspectRatio', 'none');
    svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', `${name}: round-trip time and calls per second, last 5 minutes`);
    card.append(svg);
    const legend = el('p', 'legend');
    const rttKey = el('span', 'rtt-key', 'rtt');
    const rateKey = el('span', 'rate-key', 'calls/s');
    const spanKey = el('span', null, 'last 5 min');
    legend.append(rttKey, rateKey, spanKey);
    card.append(legend);
    const tools = el('details', 'tools');
    const sum = el('summary', null, 'Tools');
    const list = el('ul');
    tools.append(sum, list);
    card.append(tools);
    return { card, word, desc, fields, svg, rttKey, rateKey, spanKey, toolsSummary: sum, toolList: list };
  }

  function placeCard(name, card) {
    const cards = $('cards');
    const after = [...cards.children].find((c) => c.getAttribute('data-server') > name);
    cards.insertBefore(card, after || null);
  }

  function fillCard(s) {
    const i = s.info;
    const st = stateOf(i);
    s.el.card.setAttribute('data-state', st);
    s.el.word.textContent = st;
    s.el.word.className = `state-word ${st}`;
    s.el.desc.textContent = i.description || '';
    const f = s.el.fields;
    const calls = i.calls || {};
    f.transport.textContent = i.transport || '–';
    f.phase.textContent = i.phase || '–';
    f['connected-since'].textContent = ago(i.connected_since);
    f.reconnects.textContent = i.reconnects ?? 0;
    f.rtt.textContent = fmtMs(i.rtt_ms);
    f['calls-ok'].textContent = calls.ok ?? 0;
    f['calls-failed'].textContent = calls.failed ?? 0;
    f['calls-is-error'].textContent = calls.is_error ?? 0;
    f['in-flight'].textContent = i.in_flight ?? 0;
    f['last-error'].textContent = i.last_error || '–';
    // An error from before the server became healthy again is history.
    f['last-error'].className = i.last_error && st !== 'healthy' ? 'err' : '';
    f.url.textContent = i.url || '–';
    s.el.toolsSummary.textContent = `Tools (${i.tool_count ?? s.tools.length})`;
  }

  /// Adds or updates a server from a SERVER object (event or poll).
  function upsert(info, source) {
    let s = servers.get(info.name);
    if (!s) {
      // toolsFor: the tool_count the tool list was last asked for.
      s = { info, el: makeCard(info.name), samples: [], tools: [], toolsFor: undefined, last: null };
      servers.set(info.name, s);
      placeCard(info.name, s.el.card);
      addServerOption(info.name);
    } else {
      // State lines count as notice, phase lines as info (the level filter).
      const was = stateOf(s.info);
      const now = stateOf(info);
      if (was !== now) {
        addLog({ server: info.name, kind: 'state', level: 'notice',
          text: `state ${was} → ${now}${info.last_error && now !== 'healthy' ? `: ${info.last_error}` : ''}` });
      } else if (source === 'event' && s.info.phase !== info.phase) {
        addLog({ server: info.name, kind: 'state', level: 'info', text: `phase ${s.info.phase} → ${info.phase}` });
      }
      s.info = Object.assign({}, s.info, info);
    }
    if (!$('node-name').textContent && info.node) $('node-name').textContent = info.node;
    fillCard(s);
    // The tool list is fetched when the card appears, after a `tools`
    // event, and when the count changes (a missed event, a node restart).
    if (s.toolsFor !== info.tool_count) {
      s.toolsFor = info.tool_count;
      loadTools(info.name);
    }
    updateCounts();
    return s;
  }

  function removeServer(name) {
    const s = servers.get(name);
    if (!s) return;
    s.el.card.remove();
    servers.delete(name);
    for (const sel of [$('call-server'), $('log-server')]) {
      for (const o of [...sel.options]) if (o.value === name) o.remove();
    }
    fillToolOptions();
    updateCounts();
  }

  // -- plots ------------------------------------------------------------------

  function sample(s, now) {
    const c = s.info.calls || {};
    // calls.is_error is a part of calls.ok (docs/node.md): not added again.
    const total = (c.ok || 0) + (c.failed || 0);
    let rate = null;
    if (s.last && now > s.last.t && total >= s.last.total) {
      rate = ((total - s.last.total) * 1000) / (now - s.last.t);
    }
    s.last = { t: now, total };
    const rtt = Number.isFinite(Number(s.info.rtt_ms)) && s.info.rtt_ms !== null ? Number(s.info.rtt_ms) : null;
    s.samples.push({ t: now, rtt, rate });
    while (s.samples.length > MAX_SAMPLES || (s.samples.length && s.samples[0].t < now - PLOT_SPAN_MS)) {
      s.samples.shift();
    }
    drawPlot(s, now);
  }

  function line(svg, cls, points) {
    if (points.length < 2) return;
    const p = document.createElementNS(SVG, 'polyline');
    p.setAttribute('class', cls);
    p.setAttribute('vector-effect', 'non-scaling-stroke');
    p.setAttribute('points', points.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' '));
    svg.append(p);
  }

  function drawPlot(s, now) {
    const svg = s.el.svg;
    while (svg.firstChild) svg.firstChild.remove();
    const axis = document.createElementNS(SVG, 'line');
    axis.setAttribute('class', 'axis');
    axis.setAttribute('x1', '0');
    axis.setAttribute('x2', '300');
    axis.setAttribute('y1', '69');
    axis.setAttribute('y2', '69');
    svg.append(axis);
    // The x axis spans the samples there are: at least a minute, at most
    // PLOT_SPAN_MS (a fresh page is not a thin line at the right edge).
    const oldest = s.samples.length ? now - s.samples[0].t : 0;
    const span = Math.min(PLOT_SPAN_MS, Math.max(60000, oldest));
    const x = (t) => 300 - ((now - t) / span) * 300;
    // Each line has its own scale (its maximum is in the legend).
    const rtts = s.samples.filter((v) => v.rtt !== null);
    const rates = s.samples.filter((v) => v.rate !== null);
    const maxRtt = Math.max(0, ...rtts.map((v) => v.rtt));
    const maxRate = Math.max(0, ...rates.map((v) => v.rate));
    const y = (v, max) => 68 - (max > 0 ? (v / max) * 62 : 0);
    line(svg, 'rtt', rtts.map((v) => [x(v.t), y(v.rtt, maxRtt)]));
    line(svg, 'rate', rates.map((v) => [x(v.t), y(v.rate, maxRate)]));
    s.el.rttKey.textContent = `rtt (max ${rtts.length ? fmtMs(maxRtt) : '–'})`;
    s.el.rateKey.textContent = `calls/s (max ${!rates.length ? '–'
      : maxRate < 10 ? maxRate.toFixed(1) : maxRate.toFixed(0)})`;
    s.el.spanKey.textContent = span >= 120000 ? `last ${Math.round(span / 60000)} min` : `last ${Math.round(span / 1000)} s`;
  }

  // -- tools ------------------------------------------------------------------

  async function loadTools(name) {
    const s = servers.get(name);
    if (!s) return;
    try {
      const r = await api(`/api/servers/${encodeURIComponent(name)}`);
      if (servers.get(name) !== s) return; // removed meanwhile
      if (!r.ok || !r.body) return;
      s.tools = Array.isArray(r.body.tools) ? r.body.tools : [];
      renderTools(s);
      if ($('call-server').value === name) fillToolOptions();
    } catch (e) {
      s.toolsFor = undefined; // asked again on the next poll
    }
  }

  function renderTools(s) {
    const list = s.el.toolList;
    while (list.firstChild) list.firstChild.remove();
    for (const t of s.tools) {
      const li = el('li');
      li.setAttribute('data-tool', t.name);
      const d = el('details');
      const title = t.title || (t.annotations && t.annotations.title);
      d.append(el('summary', null, title && title !== t.name ? `${t.name} — ${title}` : t.name));
      if (t.description) d.append(el('p', 'small', t.description));
      d.append(el('pre', null, JSON.stringify(t.inputSchema || {}, null, 2)));
      li.append(d);
      list.append(li);
    }
    s.el.toolsSummary.textContent = `Tools (${s.tools.length})`;
  }

  // -- log pane ---------------------------------------------------------------

  function addServerOption(name) {
    for (const sel of [$('call-server'), $('log-server')]) {
      const o = el('option', null, name);
      o.value = name;
      const after = [...sel.options].find((x) => x.value && x.value > name);
      sel.insertBefore(o, after || null);
    }
    if (!$('call-server').value) $('call-server').value = name;
    if ($('call-server').value === name) fillToolOptions();
  }

  function passes(e) {
    const srv = $('log-server').value;
    const min = LEVELS.indexOf($('log-level').value);
    const lvl = LEVELS.indexOf(e.level);
    return (!srv || e.server === srv) && (lvl < 0 ? 1 : lvl) >= min;
  }

  function entryNode(e) {
    const li = el('li', 'log-entry');
    li.setAttribute('data-server', e.server || '');
    li.setAttribute('data-level', e.level);
    li.setAttribute('data-kind', e.kind);
    li.append(el('span', 'time', e.time.toLocaleTimeString()), el('span', 'srv', e.server || ''),
      el('span', 'lvl', e.level), el('span', 'msg', e.text));
    return li;
  }

  function addLog(e) {
    e.time = new Date();
    if (!LEVELS.includes(e.level)) e.level = 'info';
    logEntries.unshift(e);
    if (logEntries.length > MAX_LOG) logEntries.length = MAX_LOG;
    if (!passes(e)) return;
    const log = $('log');
    log.insertBefore(entryNode(e), log.firstChild);
    while (log.children.length > MAX_LOG) log.lastChild.remove();
  }

  function renderLog() {
    const log = $('log');
    while (log.firstChild) log.firstChild.remove();
    for (const e of logEntries) if (passes(e)) log.append(entryNode(e));
  }

  // -- events -----------------------------------------------------------------

  function onEvent(kind, text) {
    let d;
    try {
      d = JSON.parse(text);
    } catch (e) {
      return;
    }
    switch (kind) {
      case 'server':
        if (d && d.name) upsert(d, 'event');
        break;
      case 'tools': {
        const parts = [];
        if (d.added && d.added.length) parts.push(`added ${d.added.join(', ')}`);
        if (d.removed && d.removed.length) parts.push(`removed ${d.removed.join(', ')}`);
        if (d.changed && d.changed.length) parts.push(`changed ${d.changed.join(', ')}`);
        addLog({ server: d.server, kind: 'tools', level: 'info',
          text: `tools: ${parts.join('; ') || 'listed'} (${d.tool_count ?? '?'} in all)` });
        const s = servers.get(d.server);
        if (s) {
          if (Number.isFinite(d.tool_count)) s.info.tool_count = d.tool_count;
          s.toolsFor = s.info.tool_count;
          loadTools(d.server);
        }
        break;
      }
      case 'log':
        addLog({ server: d.server, kind: 'log', level: d.level,
          text: (d.logger ? `[${d.logger}] ` : '') + compact(d.data) });
        break;
      case 'progress':
        if (d.call && d.call === callId) onProgress(d);
        break;
      case 'config':
        notice('config', d.status === 'rejected' ? `Config rejected: ${d.error || ''}` : '');
        addLog({ server: '', kind: 'state', level: d.status === 'rejected' ? 'error' : 'notice',
          text: `config ${d.status}${d.error ? `: ${compact(d.error)}` : ''}` });
        snapshot();
        break;
      default:
        break; // call, node: the polls show their effect
    }
  }

  const KINDS = ['server', 'tools', 'log', 'progress', 'call', 'config', 'node'];

  function openEventSource() {
    const es = new EventSource('/api/events');
    let retryTimer = null;
    es.onopen = () => {
      setLive(true);
      snapshot();
    };
    es.onerror = () => {
      setLive(false);
      // CONNECTING: the browser tries again by itself after `retry`.
      // CLOSED: it gave up (an HTTP error, e.g. 401 or 503); start again
      // ourselves once a snapshot works (a 401 asks for the token instead).
      if (es.readyState === EventSource.CLOSED && !retryTimer) {
        retryTimer = setTimeout(async () => {
          retryTimer = null;
          if (stream !== handle) return; // replaced meanwhile
          const ok = await snapshot();
          if (stream !== handle) return;
          if (ok) startStream();
          else es.onerror(); // still CLOSED: try again later
        }, 3000);
      }
    };
    for (const k of KINDS) es.addEventListener(k, (ev) => onEvent(k, ev.data));
    const handle = { close: () => { es.close(); if (retryTimer) clearTimeout(retryTimer); } };
    return handle;
  }

  /// The same stream read with fetch (for the Authorization header).
  function openFetchStream() {
    const ctl = new AbortController();
    let stopped = false;
    let lastId = '';
    let retry = 2000;
    const run = async () => {
      let fails = 0;
      while (!stopped) {
        try {
          const h = headers({ Accept: 'text/event-stream' });
          if (lastId) h['Last-Event-ID'] = lastId;
          const res = await fetch('/api/events', { headers: h, signal: ctl.signal, cache: 'no-store' });
          if (stopped) return;
          if (res.status === 401) {
            setLive(false);
            askToken(true);
            return;
          }
          if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
          fails = 0;
          setLive(true);
          snapshot();
          await readSse(res.body, (ev) => {
            if (ev.id !== null) lastId = ev.id;
            if (ev.retry !== null) retry = ev.retry;
            if (ev.data !== null) onEvent(ev.event || 'message', ev.data);
          });
        } catch (e) {
          if (stopped) return;
          fails++;
        }
        setLive(false);
        // The server's `retry`, longer after failed attempts, at most 5 s.
        const wait = Math.min(5000, Math.max(250, retry * Math.max(1, fails)));
        await new Promise((r) => setTimeout(r, wait));
      }
    };
    run();
    return { close: () => { stopped = true; ctl.abort(); } };
  }

  /// A WHATWG-style SSE parser over a byte stream; calls `emit` with
  /// {event, data, id, retry} for each dispatched event or retry field.
  async function readSse(body, emit) {
    const reader = body.getReader();
    const dec = new TextDecoder();
    let buf = '';
    let data = [];
    let event = '';
    let id = null;
    const field = (ln) => {
      if (ln === '') {
        if (data.length) emit({ event, data: data.join('\n'), id, retry: null });
        else if (id !== null) emit({ event: '', data: null, id, retry: null });
        data = [];
        event = '';
        id = null;
        return;
      }
      if (ln[0] === ':') return;
      const c = ln.indexOf(':');
      const name = c < 0 ? ln : ln.slice(0, c);
      let value = c < 0 ? '' : ln.slice(c + 1);
      if (value[0] === ' ') value = value.slice(1);
      if (name === 'data') data.push(value);
      else if (name === 'event') event = value;
      else if (name === 'id' && !value.includes('\0')) id = value;
      else if (name === 'retry' && /^\d+$/.test(value)) emit({ event: '', data: null, id: null, retry: Number(value) });
    };
    // A line ends at \r\n, \n or \r. A \r at the end of a chunk ends its
    // line at once (no waiting for the next chunk); a \n that then starts
    // the next chunk is the rest of that \r\n.
    let skipLf = false;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return; // an unfinished event is dropped, as the spec says
      buf += dec.decode(value, { stream: true });
      if (!buf) continue;
      if (skipLf && buf[0] === '\n') buf = buf.slice(1);
      skipLf = false;
      for (;;) {
        const i = buf.search(/[\r\n]/);
        if (i < 0) break;
        const ln = buf.slice(0, i);
        let next = i + 1;
        if (buf[i] === '\r') {
          if (i + 1 === buf.length) skipLf = true;
          else if (buf[i + 1] === '\n') next = i + 2;
        }
        buf = buf.slice(next);
        field(ln);
      }
    }
  }

  function startStream() {
    if (stream) stream.close();
    stream = token ? openFetchStream() : openEventSource();
  }

  // -- snapshot and polls -----------------------------------------------------

  /// GET /api/servers: adds, updates and removes cards; samples the plots.
  async function snapshot() {
    try {
      const r = await api('/api/servers');
      if (!r.ok || !r.body || !Array.isArray(r.body.servers)) {
        const e = (r.body && r.body.error) || {};
        notice('node', `GET /api/servers answered HTTP ${r.status}${e.code ? ` (${e.code})` : ''}`);
        return false;
      }
      notice('node', '');
      const seen = new Set();
      const now = Date.now();
      for (const info of r.body.servers) {
        seen.add(info.name);
        sample(upsert(info, 'poll'), now);
      }
      for (const name of [...servers.keys()]) if (!seen.has(name)) removeServer(name);
      return true;
    } catch (e) {
      // The status line is the stream's; a failed poll only says so here.
      if (!(e instanceof Unauthorized)) notice('node', 'The node does not answer; trying again…');
      return false;
    }
  }

  /// The periodic poll: one at a time, none while the token is asked for.
  async function poll() {
    if (polling || $('token-dialog').open) return;
    polling = true;
    try {
      await snapshot();
    } finally {
      polling = false;
    }
  }

  // -- call form --------------------------------------------------------------

  function fillToolOptions() {
    const sel = $('call-tool');
    const s = servers.get($('call-server').value);
    const keep = sel.value;
    while (sel.firstChild) sel.firstChild.remove();
    for (const t of (s ? s.tools : [])) {
      const o = el('option', null, t.name);
      o.value = t.name;
      sel.append(o);
    }
    if (keep && [...sel.options].some((o) => o.value === keep)) sel.value = keep;
    // A new tool list for the same selection keeps what the user typed.
    if (`${$('call-server').value}\n${sel.value}` !== prefilledFor) prefillArgs();
  }

  function placeholderFor(schema) {
    if (!schema || typeof schema !== 'object') return '';
    if ('default' in schema) return schema.default;
    if (Array.isArray(schema.enum) && schema.enum.length) return schema.enum[0];
    const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
    switch (type) {
      case 'number': case 'integer': return 0;
      case 'boolean': return false;
      case 'array': return [];
      case 'object': return {};
      case 'null': return null;
      default: return '';
    }
  }

  /// Arguments from the input schema: required properties first, each its
  /// default, else an empty value of its type.
  function prefillArgs() {
    const s = servers.get($('call-server').value);
    const t = s && s.tools.find((x) => x.name === $('call-tool').value);
    $('call-tool-desc').textContent = t ? (t.description || '') : '';
    if (!t) return;
    prefilledFor = `${$('call-server').value}\n${t.name}`;
    const schema = t.inputSchema || {};
    const props = schema.properties || {};
    const required = Array.isArray(schema.required) ? schema.required : [];
    const names = [...required.filter((n) => n in props),
      ...Object.keys(props).filter((n) => !required.includes(n))];
    const args = {};
    for (const n of names) args[n] = placeholderFor(props[n]);
    $('call-args').value = JSON.stringify(args, null, 2);
  }

  function setResult(status, build) {
    const box = $('call-result');
    box.setAttribute('data-status', status);
    while (box.firstChild) box.firstChild.remove();
    build(box);
  }

  /// A `progress` event of the form's call. Late ones (after the answer)
  /// are counted but do not show the bar again.
  function onProgress(d) {
    const p = $('call-progress');
    if (callRunning) p.hidden = false;
    p.setAttribute('data-updates', String(Number(p.getAttribute('data-updates') || 0) + 1));
    if (Number.isFinite(d.total) && d.total > 0) {
      p.max = d.total;
      p.value = Math.min(d.progress, d.total);
    } else {
      p.removeAttribute('value'); // indeterminate
    }
    const total = Number.isFinite(d.total) ? ` / ${d.total}` : '';
    $('call-progress-text').textContent = `${d.progress}${total}${d.message ? ` — ${d.message}` : ''}`;
  }

  function renderContent(box, item) {
    if (!item || typeof item !== 'object') return;
    if (item.type === 'text') {
      box.append(el('pre', null, item.text ?? ''));
    } else if (item.type === 'image' && /^image\/[a-z0-9.+-]+$/i.test(item.mimeType || '')
               && typeof item.data === 'string' && /^[A-Za-z0-9+/=\s]*$/.test(item.data)) {
      const img = el('img');
      img.alt = `image (${item.mimeType})`;
      img.src = `data:${item.mimeType};base64,${item.data.replace(/\s/g, '')}`;
      box.append(img);
    } else if (item.type === 'resource' && item.resource) {
      const r = item.resource;
      box.append(el('p', 'small', `resource ${r.uri || ''} ${r.mimeType ? `(${r.mimeType})` : ''}`));
      if (typeof r.text === 'string') box.append(el('pre', null, r.text));
      else if (typeof r.blob === 'string') box.append(el('p', 'small', `${Math.floor(r.blob.length * 0.75)} bytes of data`));
    } else if (item.type === 'resource_link') {
      box.append(el('p', 'small', `link: ${item.name || ''} ${item.uri || ''}`));
    } else {
      const size = typeof item.data === 'string' ? `, ${Math.floor(item.data.length * 0.75)} bytes` : '';
      box.append(el('p', 'small', `${item.type || 'unknown'} content${item.mimeType ? ` (${item.mimeType}` : ' ('}${size})`));
    }
  }

  async function onCall(ev) {
    ev.preventDefault();
    const server = $('call-server').value;
    const tool = $('call-tool').value;
    const durationEl = $('call-duration');
    const fail = (text) => setResult('error', (box) => box.append(el('p', 'tag bad', text)));
    const refuse = (text) => {
      durationEl.textContent = '–';
      fail(text); // nothing was sent
    };
    if (!server || !tool) return refuse('pick a server and a tool');
    let args;
    try {
      args = JSON.parse($('call-args').value.trim() || '{}');
    } catch (e) {
      return refuse(`arguments are not JSON: ${e.message}`);
    }
    if (args === null || typeof args !== 'object' || Array.isArray(args)) {
      return refuse('arguments must be a JSON object');
    }
    const timeout = Number($('call-timeout').value);
    if (!Number.isFinite(timeout) || timeout <= 0 || timeout > 86400) {
      return refuse('timeout: seconds in (0, 86400]');
    }
    const id = progressId();
    callId = id;
    callRunning = true;
    const p = $('call-progress');
    p.hidden = false;
    p.removeAttribute('value');
    p.setAttribute('data-updates', '0');
    $('call-progress-text').textContent = '';
    durationEl.textContent = '…';
    setResult('running', (box) => box.append(el('p', 'muted', `calling ${tool} on ${server}…`)));
    $('call-submit').disabled = true;
    const t0 = performance.now();
    try {
      const r = await api(`/api/servers/${encodeURIComponent(server)}/tools/${encodeURIComponent(tool)}/call`
        + `?timeout=${encodeURIComponent(timeout)}&progress=${id}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(args),
      });
      if (callId !== id) return; // a newer call owns the form
      durationEl.textContent = `${(performance.now() - t0).toFixed(0)} ms`;
      if (!r.ok || !r.body || r.body.error) {
        const e = (r.body && r.body.error) || {};
        return fail(`${e.code || 'error'}: ${e.message || ''} (HTTP ${r.status})`);
      }
      const res = r.body;
      setResult(res.isError ? 'is_error' : 'ok', (box) => {
        box.append(el('p', res.isError ? 'tag bad' : 'tag', res.isError ? 'isError: the tool reports an error' : 'ok'));
        for (const item of (Array.isArray(res.content) ? res.content : [])) renderContent(box, item);
        if (res.structuredContent !== undefined) {
          const d = el('details');
          d.open = true;
          d.append(el('summary', null, 'structuredContent'), el('pre', null, JSON.stringify(res.structuredContent, null, 2)));
          box.append(d);
        }
      });
    } catch (e) {
      if (callId !== id) return;
      durationEl.textContent = `${(performance.now() - t0).toFixed(0)} ms`;
      fail(e instanceof Unauthorized ? 'unauthorized: give the token and call again' : `the node did not answer: ${e.message}`);
    } finally {
      if (callId === id) {
        callRunning = false;
        $('call-submit').disabled = false;
        p.hidden = true; // idle again; the last progress text stays
      }
    }
  }

  /// A random progress id (the API takes 1–64 of A-Za-z0-9_.-).
  function progressId() {
    const words = crypto.getRandomValues(new Uint32Array(3));
    return `page-${[...words].map((w) => w.toString(36)).join('')}`;
  }

  // -- token ------------------------------------------------------------------

  function askToken(refused) {
    if (refused) {
      token = '';
      sessionStorage.removeItem(TOKEN_KEY);
    }
    if (stream) {
      stream.close();
      stream = null;
    }
    setLive(false);
    const d = $('token-dialog');
    // Several requests may answer 401 at once: the first one that refused a
    // token shows the error, later ones (sent without a token) keep it.
    if (refused) $('token-error').hidden = false;
    else if (!d.open) $('token-error').hidden = true;
    if (!d.open) d.showModal();
    $('token-input').focus();
  }

  function onToken(ev) {
    ev.preventDefault();
    const input = $('token-input');
    const t = input.value.trim();
    input.value = '';
    if (!t) return;
    token = t;
    sessionStorage.setItem(TOKEN_KEY, t);
    $('token-dialog').close();
    start();
  }

  // -- start ------------------------------------------------------------------

  async function start() {
    if (!(await snapshot())) {
      if ($('token-dialog').open) return; // waits for the token
      setTimeout(start, 2000); // the node is not there yet
      return;
    }
    startStream();
    if (!pollTimer) pollTimer = setInterval(poll, POLL_MS);
  }

  function init() {
    if (started) return;
    started = true;
    $('call-form').addEventListener('submit', onCall);
    $('call-server').addEventListener('change', fillToolOptions);
    $('call-tool').addEventListener('change', prefillArgs);
    $('log-server').addEventListener('change', renderLog);
    $('log-level').addEventListener('change', renderLog);
    $('token-form').addEventListener('submit', onToken);
    $('token-dialog').addEventListener('cancel', (e) => e.preventDefault());
    setLive(false);
    start();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
