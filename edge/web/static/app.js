// freshrepos page: browses the edge's /repos and /stats, and follows
// /snapshots/latest. Plain JavaScript, no dependencies.
//
// The page's URL is the source of truth: each filter control edits the
// query parameter of the same name, and the API is asked with the page's
// parameters as they are (plus fields, and limit=100 unless one is given).
// Only poll, the seconds between checks for a new snapshot, is the page's
// own.
'use strict';

(() => {
  const DEFAULT_LIMIT = 100;
  const DEFAULT_POLL_SECONDS = 30;
  const FIELDS = 'id,full_name,owner,description,html_url,created_at,language,languages,languages_status,' +
    'license,fork,archived,is_template,stargazers_count,forks_count,open_issues_count';
  // Parameters that only order or page /repos; /stats is asked without them.
  const REPOS_ONLY = ['sort', 'order', 'limit', 'offset', 'fields'];
  // The page's own parameters, never sent to the API.
  const PAGE_ONLY = ['poll'];
  const BOOLEANS = [
    ['has_open_issues', 'Has open issues'],
    ['allow_forking', 'Allows forking'],
    ['fork', 'Is a fork'],
    ['archived', 'Archived'],
    ['is_template', 'Is a template'],
    ['has_issues', 'Issues enabled'],
    ['has_projects', 'Projects enabled'],
    ['has_downloads', 'Downloads enabled'],
    ['has_wiki', 'Wiki enabled'],
    ['has_pages', 'Pages enabled'],
    ['has_discussions', 'Discussions enabled'],
  ];
  const BOUNDS = [
    ['min_stars', 'Stars at least', 'numeric', '0'],
    ['max_stars', 'Stars at most', 'numeric', ''],
    ['min_forks', 'Forks at least', 'numeric', '0'],
    ['max_forks', 'Forks at most', 'numeric', ''],
    ['min_size', 'Size at least (KB)', 'numeric', '0'],
    ['max_size', 'Size at most (KB)', 'numeric', ''],
    ['min_open_issues', 'Open issues at least', 'numeric', '0'],
    ['created_after', 'Created on or after', 'text', 'YYYY-MM-DD'],
    ['created_before', 'Created before', 'text', 'YYYY-MM-DD'],
    ['pushed_after', 'Pushed on or after', 'text', 'YYYY-MM-DD'],
  ];
  // GitHub's colours for common languages; others get one from their name.
  const COLORS = {
    'go': '#00ADD8', 'javascript': '#f1e05a', 'typescript': '#3178c6', 'python': '#3572A5', 'rust': '#dea584',
    'java': '#b07219', 'c': '#555555', 'c++': '#f34b7d', 'c#': '#178600', 'ruby': '#701516', 'php': '#4F5D95',
    'shell': '#89e051', 'html': '#e34c26', 'css': '#563d7c', 'kotlin': '#A97BFF', 'swift': '#F05138',
    'dart': '#00B4AB', 'jupyter notebook': '#DA5B0B', 'vue': '#41b883', 'lua': '#000080', 'dockerfile': '#384d54',
    'makefile': '#427819', 'scss': '#c6538c', 'scala': '#c22d40', 'haskell': '#5e5086', 'elixir': '#6e4a7e',
    'nix': '#7e7eff', 'zig': '#ec915c', 'r': '#198CE7', 'objective-c': '#438eff', 'powershell': '#012456',
    'perl': '#0298c3', 'tex': '#3D6117', 'svelte': '#ff3e00', 'astro': '#ff5a03', 'solidity': '#AA6746',
    'hcl': '#844FBA', 'assembly': '#6E4C13', 'cmake': '#DA3434', 'clojure': '#db5855', 'julia': '#a270ba',
    'ocaml': '#ef7a08', 'erlang': '#B83998', 'groovy': '#4298b8', 'vim script': '#199f4b', 'emacs lisp': '#c065db',
  };

  const $ = (sel) => document.querySelector(sel);
  const form = $('#filters');
  const nf = new Intl.NumberFormat('en');
  const pct = new Intl.NumberFormat('en', { style: 'percent', maximumFractionDigits: 1 });
  const rtf = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });
  const exactFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

  const state = {
    params: new URLSearchParams(location.search),
    seq: 0, // the newest load; older answers are dropped
    controller: null,
    shown: null, // {version, generated_at} of what the table shows
    latest: null, // the newest manifest seen
    latestETag: '',
    optionsVersion: '',
    pollTimer: 0,
    typing: '', // the control whose typing replaced the last history entry
  };

  // ---- helpers ----

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'text') e.textContent = v;
      else e.setAttribute(k, v === true ? '' : v);
    }
    for (const c of children) {
      if (c !== null && c !== undefined) e.append(c);
    }
    return e;
  }

  const SVG = 'http://www.w3.org/2000/svg';
  function svg(tag, attrs, ...children) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'text') e.textContent = v;
      else e.setAttribute(k, v);
    }
    for (const c of children) e.append(c);
    return e;
  }

  function colorOf(key) {
    key = (key || '').toLowerCase();
    if (COLORS[key]) return COLORS[key];
    let h = 0;
    for (const ch of key) h = (h * 31 + ch.codePointAt(0)) >>> 0;
    return `hsl(${h % 360} 55% 48%)`;
  }

  function bytes(n) {
    const units = ['B', 'kB', 'MB', 'GB', 'TB'];
    let i = 0;
    while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
    return (i === 0 ? nf.format(n) : n.toLocaleString('en', { maximumFractionDigits: n < 10 ? 1 : 0 })) + ' ' + units[i];
  }

  function relative(date) {
    const s = (date.getTime() - Date.now()) / 1000;
    const abs = Math.abs(s);
    if (abs < 45) return s > 5 ? 'in a few seconds' : 'just now';
    for (const [unit, size] of [['year', 31536000], ['month', 2592000], ['week', 604800], ['day', 86400], ['hour', 3600], ['minute', 60]]) {
      if (abs >= size || unit === 'minute') return rtf.format(Math.round(s / size), unit);
    }
    return '';
  }

  function timeEl(iso, cls) {
    const d = new Date(iso);
    const exact = exactFmt.format(d);
    return el('time', { datetime: iso, title: exact, class: cls, 'data-relative': '', text: relative(d) });
  }

  // A query string with commas left as they are, so that shared URLs read
  // like the API's examples.
  function qs(params) {
    const parts = [];
    for (const [k, v] of params) {
      parts.push(encodeURIComponent(k) + '=' + encodeURIComponent(v).replace(/%2C/gi, ','));
    }
    return parts.join('&');
  }

  function apiQuery(kind) {
    const p = new URLSearchParams();
    for (const [k, v] of state.params) {
      if (PAGE_ONLY.includes(k) || k === 'fields') continue;
      if (kind === 'stats' && REPOS_ONLY.includes(k)) continue;
      p.append(k, v);
    }
    if (kind === 'repos') {
      if (!p.has('limit')) p.set('limit', String(DEFAULT_LIMIT));
      p.set('fields', FIELDS);
    }
    const s = qs(p);
    return s ? '?' + s : '';
  }

  function pollMillis() {
    const v = Number(state.params.get('poll'));
    return (Number.isFinite(v) && v > 0 ? Math.max(v, 0.2) : DEFAULT_POLL_SECONDS) * 1000;
  }

  // ---- controls ----

  function buildControls() {
    const booleans = $('#booleans');
    for (const [name, label] of BOOLEANS) {
      const id = 'f-' + name;
      booleans.append(el('div', { class: 'field' },
        el('label', { for: id, text: label }),
        el('select', { id, name, 'aria-describedby': 'err-' + name },
          el('option', { value: '', text: 'any' }),
          el('option', { value: 'true', text: 'yes' }),
          el('option', { value: 'false', text: 'no' })),
        el('p', { class: 'error', id: 'err-' + name, hidden: true })));
    }
    const counts = $('#counts');
    for (const [name, label, mode, placeholder] of BOUNDS) {
      const id = 'f-' + name;
      counts.append(el('div', { class: 'field' },
        el('label', { for: id, text: label }),
        el('input', { id, name, inputmode: mode, placeholder, autocomplete: 'off', 'aria-describedby': 'err-' + name }),
        el('p', { class: 'error', id: 'err-' + name, hidden: true })));
    }
  }

  // controls are the form's elements that edit a query parameter.
  function controls() {
    return [...form.elements].filter((e) => e.name && (e.tagName === 'INPUT' || e.tagName === 'SELECT'));
  }

  function setControl(ctl, value) {
    if (ctl.tagName === 'SELECT') {
      let v = value;
      if (BOOLEANS.some(([n]) => n === ctl.name)) {
        const l = v.toLowerCase();
        if (l === 'true' || l === '1') v = 'true';
        else if (l === 'false' || l === '0') v = 'false';
      } else if (ctl.name !== 'limit') {
        v = v.toLowerCase();
        if (ctl.name === 'sort' && v === 'created') v = '';
      }
      if (ctl.name === 'limit' && v === String(DEFAULT_LIMIT)) v = '';
      if (![...ctl.options].some((o) => o.value === v)) {
        // A value the select does not offer, such as a shared URL's: shown
        // as it is, so that the API's answer about it makes sense.
        ctl.append(el('option', { value: v, text: v, 'data-extra': '' }));
      }
      ctl.value = v;
    } else {
      ctl.value = value;
    }
  }

  // syncControls shows the URL's parameters in the controls, and opens
  // "More filters" when one of them is set there and open is true.
  function syncControls(open) {
    for (const ctl of controls()) {
      const value = state.params.getAll(ctl.name).join(',');
      // What is being typed keeps its spaces.
      if (ctl === document.activeElement && ctl.tagName === 'INPUT' && ctl.value.trim() === value) continue;
      setControl(ctl, value);
    }
    const inMore = [...$('#more').querySelectorAll('[name]')].filter((c) => state.params.has(c.name)).length;
    $('#more-count').textContent = inMore ? `(${inMore} set)` : '';
    if (inMore && open) $('#more').open = true;
  }

  // fromControls makes the parameters from the controls, keeping those no
  // control edits (snapshot, poll, and any the API will name as unknown).
  function fromControls(keepOffset) {
    const p = new URLSearchParams(state.params);
    for (const ctl of controls()) {
      p.delete(ctl.name);
      const v = ctl.value.trim();
      if (v !== '') p.set(ctl.name, v);
    }
    if (!keepOffset) p.delete('offset');
    return p;
  }

  function navigate(params, replace) {
    state.params = params;
    const search = qs(params);
    const url = location.pathname + (search ? '?' + search : '');
    if (url !== location.pathname + location.search) {
      if (replace) history.replaceState(null, '', url);
      else history.pushState(null, '', url);
    }
    syncControls();
    load();
  }

  let debounce = 0;
  function onInput(ev) {
    const ctl = ev.target;
    if (!ctl.name || ctl.tagName !== 'INPUT') return;
    clearTimeout(debounce);
    debounce = setTimeout(() => {
      // Typing in one control makes one history entry.
      const replace = state.typing === ctl.name;
      state.typing = ctl.name;
      navigate(fromControls(false), replace);
    }, 350);
  }

  function onChange(ev) {
    const ctl = ev.target;
    if (!ctl.name) return;
    if (ctl.tagName === 'INPUT') {
      // Committed (blur or enter): apply now if the debounce has not.
      clearTimeout(debounce);
      const p = fromControls(false);
      if (qs(p) !== qs(state.params)) navigate(p, state.typing === ctl.name);
      return;
    }
    state.typing = '';
    navigate(fromControls(ctl.name === 'offset'), false);
  }

  // ---- loading ----

  async function fetchJSON(url, signal) {
    const resp = await fetch(url, { signal, cache: 'no-cache', headers: { Accept: 'application/json' } });
    const type = resp.headers.get('Content-Type') || '';
    const body = type.includes('json') ? await resp.json() : null;
    return { resp, body, problem: type.includes('problem+json') ? body : null };
  }

  async function load() {
    const seq = ++state.seq;
    if (state.controller) state.controller.abort();
    const controller = new AbortController();
    state.controller = controller;
    $('#results').setAttribute('aria-busy', 'true');
    try {
      const [repos, stats] = await Promise.all([
        fetchJSON('/repos' + apiQuery('repos'), controller.signal),
        fetchJSON('/stats' + apiQuery('stats'), controller.signal),
      ]);
      if (seq !== state.seq) return;
      clearProblems();
      const problem = repos.problem || stats.problem;
      if (problem) {
        if (repos.resp.status === 503 || stats.resp.status === 503) {
          showNoSnapshot();
        } else {
          showProblem(repos.problem);
          if (stats.problem && !repos.problem) showProblem(stats.problem);
          const status = (repos.problem ? repos.resp : stats.resp).status;
          renderRows([], status === 400 ? 'No repositories: a filter has a value the API does not accept (see above).'
            : `No repositories: the API answered ${status} ${problem.title || ''}.`);
          setSummary('');
          drawCharts(null);
        }
        return;
      }
      if (!repos.resp.ok || !stats.resp.ok || !repos.body || !stats.body) {
        throw new Error(`the API answered ${repos.resp.status}`);
      }
      render(repos.body, stats.body);
      loadOptions(repos.body.snapshot);
    } catch (err) {
      if (err.name === 'AbortError' || seq !== state.seq) return;
      setStatus(`Could not reach the API (${err.message}); retrying with the next check.`);
      state.shown = null;
    } finally {
      if (seq === state.seq) $('#results').removeAttribute('aria-busy');
    }
  }

  // loadOptions fills the language and license suggestions from the whole
  // snapshot, once per version.
  async function loadOptions(snapshot) {
    if (!snapshot || state.optionsVersion === snapshot.version) return;
    state.optionsVersion = snapshot.version;
    try {
      const { resp, body } = await fetchJSON('/stats');
      if (!resp.ok || !body) return;
      const langs = Object.entries(body.languages || {}).sort((a, b) => b[1].repositories - a[1].repositories);
      $('#languages').replaceChildren(...langs.map(([key, l]) => el('option', { value: key, text: `${l.name} (${l.repositories})` })));
      const lics = Object.entries(body.licenses || {}).sort((a, b) => b[1].repositories - a[1].repositories);
      $('#licenses').replaceChildren(...lics.map(([key, l]) => el('option', { value: key, text: `${l.name} (${l.repositories})` })));
    } catch {
      state.optionsVersion = '';
    }
  }

  // ---- problems ----

  function clearProblems() {
    for (const e of document.querySelectorAll('.error')) {
      e.hidden = true;
      e.textContent = '';
    }
    for (const c of document.querySelectorAll('[aria-invalid]')) c.removeAttribute('aria-invalid');
  }

  function showProblem(problem) {
    if (!problem) return;
    const errors = problem.errors && problem.errors.length ? problem.errors
      : [{ parameter: '', value: '', message: problem.detail || problem.title || 'the API refused the query' }];
    for (const e of errors) {
      const ctl = e.parameter ? form.elements.namedItem(e.parameter) : null;
      const box = e.parameter ? document.getElementById('err-' + e.parameter) : null;
      if (box) {
        if (ctl && ctl.name) ctl.setAttribute('aria-invalid', 'true');
        box.textContent = box.textContent ? box.textContent + ' ' + e.message : e.message;
        box.hidden = false;
        if ($('#more').contains(box)) $('#more').open = true;
      } else {
        const other = $('#err-other');
        other.textContent = (other.textContent ? other.textContent + ' ' : '') +
          (e.parameter ? `${e.parameter}: ${e.message}` : e.message);
        other.hidden = false;
      }
    }
  }

  function showNoSnapshot() {
    state.shown = null;
    setStatus('No snapshot has been loaded yet. This page updates when one is.');
    renderRows([], 'No snapshot has been published yet.');
    setSummary('');
    drawCharts(null);
  }

  // ---- rendering ----

  function setStatus(text) {
    $('#snapshot-text').replaceChildren(text);
  }

  function setSummary(text) {
    $('#summary').textContent = text;
  }

  function render(repos, stats) {
    const prev = state.shown;
    state.shown = repos.snapshot;
    renderSnapshot(prev && prev.version !== repos.snapshot.version);
    const offset = Number(state.params.get('offset')) || 0;
    const n = repos.repositories.length;
    const filtered = [...state.params.keys()].some((k) => !PAGE_ONLY.includes(k) && !REPOS_ONLY.includes(k) && k !== 'snapshot');
    const what = filtered ? 'matching repositories' : 'repositories';
    setSummary(n ? `${nf.format(offset + 1)}–${nf.format(offset + n)} of ${nf.format(repos.total)} ${what}`
      : `0 of ${nf.format(repos.total)} ${what}`);
    renderRows(repos.repositories, repos.total ? 'Past the last page: go back.' : 'No repositories match these filters.');
    renderPager(offset, n, repos.total);
    drawCharts(stats);
    renderSelected(stats.selected);
    $('#charts-sub').textContent = filtered ? `in the ${nf.format(stats.repositories)} matching repositories`
      : `in all ${nf.format(stats.repositories)} repositories`;
  }

  function renderSnapshot(changed) {
    const s = state.shown;
    if (!s) return;
    const line = $('#snapshot-text');
    const gen = new Date(s.generated_at);
    const parts = ['Snapshot ', el('code', { id: 'snapshot-version', text: s.version }), ' · generated ',
      el('time', { id: 'snapshot-age', datetime: s.generated_at, title: exactFmt.format(gen), 'data-relative': '', text: relative(gen) }),
      ` (${exactFmt.format(gen)})`];
    if (state.params.has('snapshot') && state.latest && state.latest.version !== s.version) {
      parts.push(' · pinned; the newest is ', el('code', { text: state.latest.version }));
    }
    line.replaceChildren(...parts);
    const box = $('#snapshot');
    if (changed) {
      box.classList.remove('fresh');
      void box.offsetWidth; // restart the animation
      box.classList.add('fresh');
    }
  }

  function renderRows(list, emptyText) {
    const tbody = $('#repos tbody');
    if (!list.length) {
      tbody.replaceChildren(el('tr', { class: 'empty-row' }, el('td', { colspan: '9', text: emptyText })));
      return;
    }
    keepFocus(tbody, (a) => {
      const tr = a.closest('tr[data-id]');
      return tr ? `tr[data-id="${tr.dataset.id}"] a${a.dataset.filter ? '[data-filter]' : ':not([data-filter])'}` : '';
    }, () => tbody.replaceChildren(...list.map(row)));
  }

  // keepFocus runs redraw, which replaces what is inside container, and
  // gives the focus back to the new element that selector names for the
  // old one, so that an update does not throw a keyboard user out.
  function keepFocus(container, selector, redraw) {
    const active = document.activeElement;
    const sel = active && container.contains(active) ? selector(active) : '';
    redraw();
    if (sel) {
      const again = container.querySelector(sel);
      if (again) again.focus();
    }
  }

  function row(r) {
    const tags = [];
    if (r.fork) tags.push(el('span', { class: 'tag', text: 'fork' }));
    if (r.archived) tags.push(el('span', { class: 'tag', text: 'archived' }));
    if (r.is_template) tags.push(el('span', { class: 'tag', text: 'template' }));
    const name = el('td', { class: 'repo', 'data-label': 'Repository' },
      el('a', { href: r.html_url, rel: 'noopener', text: r.full_name.slice(r.owner.length + 1) || r.full_name, title: r.full_name }),
      ...tags,
      r.description ? el('span', { class: 'desc', text: r.description }) : null);
    // Each cell has one child, which a phone's layout puts beside the
    // cell's label.
    const created = el('td', { class: 'created', 'data-label': 'Created' }, el('div', {},
      timeEl(r.created_at, 'rel'),
      el('span', { class: 'exact', text: exactFmt.format(new Date(r.created_at)) })));
    const primary = r.language
      ? el('td', { 'data-label': 'Language', class: 'lang' },
        el('span', {}, el('span', { class: 'dot', 'aria-hidden': 'true', 'data-color': colorOf(r.language) }), r.language))
      : el('td', { 'data-label': 'Language', class: 'muted', text: '—' });
    const lic = r.license
      ? el('td', { 'data-label': 'License', title: r.license.name, text: r.license.spdx_id && r.license.spdx_id !== 'NOASSERTION' ? r.license.spdx_id : r.license.name })
      : el('td', { 'data-label': 'License', class: 'muted', text: 'none' });
    const tr = el('tr', { 'data-id': r.id },
      name,
      el('td', { 'data-label': 'Owner' }, el('a', { href: '?' + qs(withParam('owner', r.owner)), 'data-filter': 'owner', 'data-value': r.owner, text: r.owner })),
      created, primary, el('td', { 'data-label': 'Languages' }, langBar(r)), lic,
      el('td', { class: 'num', 'data-label': 'Stars', text: nf.format(r.stargazers_count) }),
      el('td', { class: 'num', 'data-label': 'Forks', text: nf.format(r.forks_count) }),
      el('td', { class: 'num', 'data-label': 'Open issues', text: nf.format(r.open_issues_count) }));
    for (const dot of tr.querySelectorAll('[data-color]')) dot.style.background = dot.dataset.color;
    return tr;
  }

  function langBar(r) {
    if (!r.languages) {
      const why = r.languages_status === 'unavailable' ? 'unavailable' : 'not known yet';
      return el('span', { class: 'muted', text: why });
    }
    const list = Object.values(r.languages).sort((a, b) => b.bytes - a.bytes || a.name.localeCompare(b.name));
    const total = list.reduce((s, l) => s + l.bytes, 0);
    if (!list.length || total === 0) return el('span', { class: 'muted', text: 'none detected' });
    const label = list.map((l) => `${l.name} ${pct.format(l.bytes / total)}`).join(', ');
    const bar = el('div', { class: 'langbar', role: 'img', 'aria-label': label, title: label });
    for (const l of list) {
      const s = el('span', {});
      s.style.width = (100 * l.bytes / total) + '%';
      s.style.background = colorOf(l.name);
      bar.append(s);
    }
    const legend = el('ul', { class: 'langlegend', 'aria-hidden': 'true' });
    for (const l of list.slice(0, 3)) {
      const dot = el('span', { class: 'dot' });
      dot.style.background = colorOf(l.name);
      legend.append(el('li', {}, dot, `${l.name} ${pct.format(l.bytes / total)}`));
    }
    if (list.length > 3) legend.append(el('li', { text: `+${list.length - 3} more` }));
    return el('div', {}, bar, legend);
  }

  function renderPager(offset, n, total) {
    const limit = Number(state.params.get('limit')) || DEFAULT_LIMIT;
    $('#prev').disabled = offset <= 0;
    $('#next').disabled = offset + n >= total;
    const pages = Math.max(1, Math.ceil(total / limit));
    const page = Math.floor(offset / limit) + 1;
    $('#page').textContent = total ? `Page ${nf.format(Math.min(page, pages))} of ${nf.format(pages)}` : '';
    $('#prev').dataset.offset = String(Math.max(0, offset - limit));
    $('#next').dataset.offset = String(offset + limit);
  }

  function withParam(name, value) {
    const p = new URLSearchParams(state.params);
    p.set(name, value);
    p.delete('offset');
    return p;
  }

  // ---- charts ----

  function drawCharts(stats) {
    const langs = stats ? Object.entries(stats.languages || {}).map(([key, l]) => ({ key, ...l })) : [];
    const byBytes = langs.filter((l) => l.bytes > 0).sort((a, b) => b.bytes - a.bytes || a.key.localeCompare(b.key));
    const byRepos = langs.filter((l) => l.repositories > 0).sort((a, b) => b.repositories - a.repositories || a.key.localeCompare(b.key));
    const totalBytes = stats ? stats.total_bytes : 0;
    const repos = stats ? stats.repositories : 0;
    drawBars($('#chart-bytes'), byBytes, (l) => l.bytes, totalBytes,
      (l) => `${pct.format(totalBytes ? l.bytes / totalBytes : 0)} · ${bytes(l.bytes)}`,
      (l) => `${l.name}: ${pct.format(totalBytes ? l.bytes / totalBytes : 0)} of the bytes, ${bytes(l.bytes)}`,
      stats ? 'No language bytes in these repositories.' : 'No statistics.');
    drawBars($('#chart-repos'), byRepos, (l) => l.repositories, repos,
      (l) => `${nf.format(l.repositories)} · ${pct.format(repos ? l.repositories / repos : 0)}`,
      (l) => `${l.name}: in ${nf.format(l.repositories)} of ${nf.format(repos)} repositories`,
      stats ? 'No languages in these repositories.' : 'No statistics.');
    state.lastStats = stats;
  }

  const MAX_BARS = 10;
  function drawBars(node, items, value, total, valueText, ariaText, emptyText) {
    const width = Math.max(260, Math.round(node.parentElement.clientWidth || 480));
    const rowH = 26;
    const shown = items.slice(0, MAX_BARS);
    const rest = items.slice(MAX_BARS);
    const rows = shown.length + (rest.length ? 1 : 0);
    const height = Math.max(rowH, rows * rowH);
    node.setAttribute('viewBox', `0 0 ${width} ${height}`);
    node.setAttribute('width', width);
    node.setAttribute('height', height);
    if (!shown.length) {
      node.replaceChildren(svg('text', { x: 0, y: 17, class: 'empty', text: emptyText }));
      return;
    }
    const labelW = Math.min(140, Math.round(width * 0.3));
    const valueW = Math.min(130, Math.round(width * 0.3));
    const barX = labelW + 8;
    const barW = Math.max(20, width - barX - valueW - 8);
    const max = Math.max(...shown.map(value), 1);
    const children = [];
    shown.forEach((l, i) => {
      const y = i * rowH;
      const w = Math.max(2, Math.round(barW * value(l) / max));
      const link = svg('a', { href: '?' + qs(withParam('language', l.key)), class: 'bar-link', 'data-language': l.key, 'aria-label': ariaText(l) + '; show only ' + l.name },
        svg('title', { text: ariaText(l) }),
        svg('text', { class: 'label', x: labelW, y: y + 17, 'text-anchor': 'end', text: clip(l.name, labelW) }),
        svg('rect', { class: 'track', x: barX, y: y + 5, width: barW, height: 14, rx: 3 }),
        svg('rect', { class: 'bar', x: barX, y: y + 5, width: w, height: 14, rx: 3, fill: colorOf(l.key) }),
        svg('text', { class: 'value', x: barX + barW + 6, y: y + 17, text: valueText(l) }));
      children.push(link);
    });
    if (rest.length) {
      const y = shown.length * rowH;
      const sum = rest.reduce((s, l) => s + value(l), 0);
      children.push(svg('g', { class: 'rest' },
        svg('text', { class: 'label', x: labelW, y: y + 17, 'text-anchor': 'end', text: `${rest.length} more` }),
        svg('text', { class: 'value', x: barX, y: y + 17, text: total ? `${pct.format(sum / total)} together` : '' })));
    }
    keepFocus(node, (a) => a.dataset.language ? `a[data-language="${CSS.escape(a.dataset.language)}"]` : '',
      () => node.replaceChildren(...children));
  }

  function clip(text, px) {
    const max = Math.max(4, Math.floor(px / 7.5));
    return text.length > max ? text.slice(0, max - 1) + '…' : text;
  }

  function renderSelected(sel) {
    const box = $('#selected');
    if (!sel) {
      box.hidden = true;
      return;
    }
    $('#selected-title').textContent = `${sel.name} in these repositories`;
    const fig = (label, v) => el('div', {}, el('dt', { text: label }), el('dd', { text: v }));
    $('#selected-figures').replaceChildren(
      fig('Repositories', nf.format(sel.repositories)),
      fig('Primary language of', nf.format(sel.primary)),
      fig('Bytes', bytes(sel.bytes)),
      fig('Share of all bytes', pct.format(sel.share_of_bytes)),
      fig('Average per repository', bytes(Math.round(sel.average_bytes))),
      fig('Median per repository', bytes(Math.round(sel.median_bytes))),
      fig('Largest', bytes(sel.max_bytes)));
    const co = Object.entries(sel.co_languages || {}).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
    $('#selected-co').textContent = co.length
      ? 'Used alongside: ' + co.slice(0, 8).map(([k, n]) => `${languageName(k)} (${nf.format(n)})`).join(', ') + (co.length > 8 ? `, and ${co.length - 8} more` : '')
      : 'Used alone in each of them.';
    box.hidden = false;
  }

  function languageName(key) {
    const l = state.lastStats && state.lastStats.languages && state.lastStats.languages[key];
    return l ? l.name : key;
  }

  // ---- following new snapshots ----

  async function poll() {
    clearTimeout(state.pollTimer);
    try {
      if (document.visibilityState === 'hidden') return;
      const headers = state.latestETag ? { 'If-None-Match': state.latestETag } : {};
      const resp = await fetch('/snapshots/latest', { cache: 'no-store', headers });
      if (resp.status === 304) {
        if (!state.shown) load();
        return;
      }
      if (!resp.ok) return; // 503 before the first snapshot: try again later
      const manifest = await resp.json();
      state.latestETag = resp.headers.get('ETag') || '';
      state.latest = manifest;
      if (!state.shown || (manifest.version !== state.shown.version && !state.params.has('snapshot'))) {
        load();
      } else {
        renderSnapshot(false);
      }
    } catch {
      // Offline or the edge restarting: the next check tries again.
    } finally {
      state.pollTimer = setTimeout(poll, pollMillis());
    }
  }

  function tick() {
    for (const t of document.querySelectorAll('time[data-relative]')) {
      t.textContent = relative(new Date(t.getAttribute('datetime')));
    }
  }

  // ---- wiring ----

  function init() {
    buildControls();
    syncControls(true);
    form.addEventListener('input', onInput);
    form.addEventListener('change', onChange);
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      clearTimeout(debounce);
      state.typing = '';
      navigate(fromControls(false), false);
    });
    form.addEventListener('reset', (ev) => {
      ev.preventDefault();
      const p = new URLSearchParams();
      for (const k of PAGE_ONLY) if (state.params.has(k)) p.set(k, state.params.get(k));
      for (const o of document.querySelectorAll('option[data-extra]')) o.remove();
      state.typing = '';
      navigate(p, false);
    });
    for (const id of ['#prev', '#next']) {
      $(id).addEventListener('click', (ev) => {
        const p = new URLSearchParams(state.params);
        const off = Number(ev.currentTarget.dataset.offset) || 0;
        if (off > 0) p.set('offset', String(off)); else p.delete('offset');
        state.typing = '';
        navigate(p, false);
        $('#results').focus();
      });
    }
    // Links that set one filter (a chart's bars, an owner) stay in the page.
    document.addEventListener('click', (ev) => {
      if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
      const a = ev.target.closest('a[data-language], a[data-filter]');
      if (!a) return;
      ev.preventDefault();
      const name = a.dataset.filter || 'language';
      const value = a.dataset.value || a.dataset.language;
      state.typing = '';
      navigate(withParam(name, value), false);
    });
    window.addEventListener('popstate', () => {
      const params = new URLSearchParams(location.search);
      if (qs(params) === qs(state.params)) return; // only the #fragment moved
      state.params = params;
      state.typing = '';
      syncControls(true);
      load();
    });
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') poll();
    });
    // The charts are drawn at their width in pixels, so that their text
    // keeps its size on a phone: redrawn when that width changes.
    let drawnWidth = 0;
    new ResizeObserver((entries) => {
      const w = Math.round(entries[0].contentRect.width);
      if (w !== drawnWidth && state.lastStats !== undefined) {
        drawnWidth = w;
        requestAnimationFrame(() => drawCharts(state.lastStats));
      }
    }).observe($('.chart'));
    setInterval(tick, 15000);
    load();
    poll();
  }

  init();
})();
