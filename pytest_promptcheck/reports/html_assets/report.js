// The promptcheck report page. Everything on it comes from the JSON data block and is put in
// the DOM with textContent or attributes, never parsed as markup: model text stays text.
"use strict";
(function () {
  const DATA = JSON.parse(document.getElementById("promptcheck-data").textContent);
  const PAGE = 300;
  const EFFECTS = ["regressed", "improved", "changed", "same", "new"];
  const FILTERS = ["effect", "cause", "check", "prompt", "model", "q"];
  const app = document.getElementById("app");
  const rows = DATA.rows.map((row, index) => ({ ...row, index, id: row.prompt + "::" + row.case }));
  // the data leaves out what is empty, and a baseline that matches the run says "now"
  for (const row of rows) {
    for (const cell of row.cells) {
      if (!cell) continue;
      if (cell.was === "now") cell.was = cell.now;
      for (const group of [...cell.now, ...cell.was]) {
        group.format_error = group.format_error || null;
        for (const key of ["tools", "trace", "judge"]) group[key] = group[key] || [];
      }
    }
  }
  const haystacks = new Map();
  let state = readHash();
  let shown = [];
  let drawn = 0;
  let list, more, counter, controls = {};

  // --- small DOM helpers: text only ---
  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function add(parent, ...children) {
    for (const child of children) if (child) parent.appendChild(child);
    return parent;
  }
  const pct = (x) => (x === null || x === undefined ? "–" : Math.round(x * 100) + "%");
  const plural = (n, word) => n.toLocaleString("en-US") + " " + word + (n === 1 ? "" : "s");

  // --- URL hash: the filters and the open case, so reload and back keep them ---
  function readHash() {
    const params = new URLSearchParams(location.hash.slice(1));
    const found = {};
    for (const key of [...FILTERS, "open"]) found[key] = params.get(key) || "";
    return found;
  }
  function hashOf(next) {
    const params = new URLSearchParams();
    for (const key of [...FILTERS, "open"]) if (next[key]) params.set(key, next[key]);
    const text = params.toString();
    return text ? "#" + text : location.pathname + location.search;
  }
  function go(change, replace) {
    const next = { ...state, ...change };
    if (replace) {
      history.replaceState(null, "", hashOf(next));
      state = next;
      refresh();
    } else if (hashOf(next) !== hashOf(state)) {
      history.pushState(null, "", hashOf(next));
      state = next;
      refresh();
    }
  }
  function fromUrl() {
    const next = readHash();
    if (hashOf(next) !== hashOf(state)) { state = next; refresh(); }
  }
  window.addEventListener("popstate", fromUrl);
  window.addEventListener("hashchange", fromUrl);

  // --- filtering ---
  function haystack(row) {
    let text = haystacks.get(row.index);
    if (text === undefined) {
      const parts = [row.id];
      for (const cell of row.cells) {
        if (!cell) continue;
        for (const group of cell.now) parts.push(group.text);
        for (const group of cell.was) parts.push(group.text);
      }
      text = parts.join("\n").toLowerCase();
      haystacks.set(row.index, text);
    }
    return text;
  }
  function cellMatches(cell, modelIndex) {
    if (!cell) return false;
    if (state.model && DATA.models[modelIndex] !== state.model) return false;
    if (state.effect && cell.effect !== state.effect) return false;
    if (state.cause) {
      const unexplained = !cell.causes.length && ["regressed", "improved", "changed"].includes(cell.effect);
      if (!(cell.causes.includes(state.cause) || (state.cause === "no change" && unexplained))) return false;
    }
    if (state.check && !cell.checks.some((c) => c[0] === state.check)) return false;
    return true;
  }
  function rowMatches(row) {
    if (state.prompt && row.prompt !== state.prompt) return false;
    if (!row.cells.some(cellMatches)) return false;
    return !state.q || haystack(row).includes(state.q.toLowerCase());
  }

  // --- header: verdict, counts, usage ---
  function header() {
    const verdict = DATA.verdict;
    const top = el("section", "top");
    add(top, el("div", "badge " + (verdict.ok ? "pass" : "fail"), verdict.ok ? "PASS" : "FAIL"));
    const text = add(el("div"), el("h1", null, "promptcheck report"));
    const why = el("ul", "why");
    if (verdict.ok) why.appendChild(el("li", null, "Every case passed its checks; nothing gates."));
    for (const reason of verdict.reasons) why.appendChild(el("li", null, reason));
    add(text, why, el("div", "mode", verdict.mode + " · alpha " + verdict.alpha + " · tolerance " + verdict.tolerance));
    add(top, text);

    const t = DATA.totals;
    const cases = add(el("div", "panel"), el("h2", null, DATA.models.length > 1 ? "Cases × models" : "Cases"), el("div", "big", t.cases.toLocaleString("en-US")));
    add(cases, el("div", "sub", t.passed + " passed · " + t.failed + " failed · " + plural(t.errors, "error")));
    cases.appendChild(matrixTable());
    const effects = add(el("div", "panel"), el("h2", null, "Drift against the baseline"));
    const chips = el("div", "chips");
    for (const effect of EFFECTS) chips.appendChild(chip("effect", effect, t[effect], "e-" + effect));
    effects.appendChild(chips);
    const causes = Object.entries(DATA.causes);
    if (causes.length) {
      effects.appendChild(el("h3", null, "Causes of the moved cases"));
      const list = el("div", "chips");
      for (const [cause, n] of causes) list.appendChild(chip("cause", cause, n, ""));
      effects.appendChild(list);
    }
    return add(el("header"), top, add(el("div", "panels"), cases, effects, usagePanel()));
  }
  function matrixTable() {
    // per prompt and model: passed of total, regressed and improved (as in the .md report)
    const [head, ...body] = DATA.matrix;
    const table = add(el("table", "usage matrix"), add(el("tr"), ...head.map((name) => el("th", null, name))));
    for (const line of body) add(table, add(el("tr"), ...line.map((text) => el("td", null, text))));
    return add(el("div", "scroll"), table);
  }
  function chip(key, value, count, cls) {
    const button = el("button", "chip " + cls + (state[key] === value ? " on" : ""));
    add(button, document.createTextNode(value), el("b", null, count));
    button.dataset.filter = key;
    button.dataset.value = value;
    button.disabled = !count;
    button.addEventListener("click", () => go({ [key]: state[key] === value ? "" : value, open: "" }));
    return button;
  }
  function usagePanel() {
    const u = DATA.usage;
    const panel = add(el("div", "panel"), el("h2", null, "Cost, tokens, latency"));
    panel.appendChild(el("div", "sub", plural(u.calls, "model call")));
    const table = el("table", "usage");
    const head = add(el("tr"), el("th"), el("th", null, "this run"), el("th", null, "baseline"), el("th", null, "change"));
    table.appendChild(head);
    const row = (name, now, was, fmt) => {
      const delta = now === null || was === null || !was ? null : (now - was) / was;
      const change = el("td", delta === null ? "" : delta > 0.005 ? "up" : delta < -0.005 ? "down" : "",
        delta === null ? "–" : (delta > 0 ? "+" : "") + (delta * 100).toFixed(1) + "%");
      add(table, add(el("tr"), el("td", null, name), el("td", null, fmt(now)), el("td", null, fmt(was)), change));
    };
    const money = (x) => (x === null ? "unknown" : "$" + x.toFixed(4));
    const ms = (x) => (x === null ? "–" : Math.round(x) + " ms");
    const num = (x) => (x === null ? "–" : x.toLocaleString("en-US"));
    row("tokens", u.now.tokens, u.baseline.tokens, num);
    row("cost", u.now.cost_usd, u.baseline.cost_usd, money);
    row("latency p50", u.now.latency_ms, u.baseline.latency_ms, ms);
    panel.appendChild(table);
    panel.appendChild(el("div", "sub", "over the " + plural(u.compared, "case") + " with a baseline entry; whole run: "
      + num(u.run.tokens) + " tokens, cost " + money(u.run.cost_usd)));
    return panel;
  }

  // --- filter bar ---
  function filterBar() {
    const bar = el("nav", "filters");
    const search = el("input");
    search.type = "search";
    search.placeholder = "Search cases and outputs  ( / )";
    search.setAttribute("aria-label", "search");
    let timer = 0;
    search.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(() => go({ q: search.value, open: "" }, true), 150);
    });
    controls.q = search;
    bar.appendChild(search);
    const options = {
      effect: EFFECTS, cause: Object.keys(DATA.causes), check: DATA.checks,
      prompt: DATA.prompts, model: DATA.models,
    };
    for (const [key, values] of Object.entries(options)) {
      const select = el("select");
      select.setAttribute("aria-label", key);
      select.appendChild(el("option", null, "any " + key));
      select.firstChild.value = "";
      for (const value of values) {
        const option = el("option", null, value);
        option.value = value;
        select.appendChild(option);
      }
      select.addEventListener("change", () => go({ [key]: select.value, open: "" }));
      controls[key] = select;
      bar.appendChild(select);
    }
    const clear = el("button", null, "Clear");
    clear.addEventListener("click", () => go({ effect: "", cause: "", check: "", prompt: "", model: "", q: "", open: "" }));
    counter = el("span", "shown");
    return add(bar, clear, counter);
  }

  // --- the list: one row per case, a cell per model coloured by effect ---
  function columns() {
    // fixed model columns: every row is its own grid, and they must line up
    return "minmax(180px, 1.3fr) " + DATA.models.map(() => "112px").join(" ") + " 3fr";
  }
  function listHead() {
    const head = el("div", "head");
    add(head, el("div", null, "case"));
    for (const model of DATA.models) head.appendChild(el("div", null, model));
    return add(head, el("div", null, "output (this run)"));
  }
  function cellView(cell) {
    if (!cell) return el("div", "cell e-none", "–");
    const view = el("div", "cell e-" + cell.effect + " v-" + cell.verdict);
    add(view, el("span", "fx", cell.effect === "none" ? cell.verdict : cell.effect), el("span", null, cell.passed + "/" + cell.n));
    view.title = cell.verdict + ", " + cell.cause;
    return view;
  }
  function rowView(row) {
    const view = el("div", "row" + (state.open === row.id ? " open" : ""));
    view.dataset.case = row.id;
    const label = el("div", "label");
    add(label, el("span", "prompt", row.prompt + "::"), document.createTextNode(row.case));
    view.appendChild(label);
    row.cells.forEach((cell) => view.appendChild(cellView(cell)));
    const first = row.cells.find((cell, i) => cellMatches(cell, i)) || row.cells.find(Boolean);
    const text = first && first.now.length ? first.now[0].text : "";
    view.appendChild(el("div", "snippet out-text", text.length > 600 ? text.slice(0, 600) + "…" : text));
    const toggle = () => go({ open: state.open === row.id ? "" : row.id });
    view.tabIndex = 0;
    view.setAttribute("role", "button");
    view.setAttribute("aria-expanded", String(state.open === row.id));
    view.addEventListener("click", toggle);
    view.addEventListener("keydown", (event) => { if (event.key === "Enter" || event.key === " ") { event.preventDefault(); toggle(); } });
    return view;
  }
  function drawMore() {
    const end = Math.min(drawn + PAGE, shown.length);
    const part = document.createDocumentFragment();
    for (; drawn < end; drawn++) {
      const row = shown[drawn];
      part.appendChild(guarded(rowView, row));
      if (state.open === row.id) part.appendChild(guarded(detail, row));
    }
    list.appendChild(part);
    more.hidden = drawn >= shown.length;
    more.firstChild.textContent = "Show " + Math.min(PAGE, shown.length - drawn) + " more of " + (shown.length - drawn);
  }
  function guarded(draw, row) {
    // one case the page cannot draw says so in its place; the other rows stay
    try {
      return draw(row);
    } catch (error) {
      return el("div", "detail bad", "This case could not be drawn: " + error);
    }
  }
  function refresh() {
    shown = rows.filter(rowMatches);
    const open = shown.findIndex((row) => row.id === state.open);
    list.replaceChildren(listHead());
    drawn = 0;
    if (!shown.length) list.appendChild(el("div", "empty", "No case matches these filters."));
    while (drawn < shown.length && (drawn < PAGE || drawn <= open)) drawMore();
    counter.textContent = shown.length + " of " + plural(rows.length, "case");
    for (const key of FILTERS) if (controls[key] && controls[key].value !== state[key]) controls[key].value = state[key];
    for (const button of document.querySelectorAll(".chip")) {
      button.classList.toggle("on", state[button.dataset.filter] === button.dataset.value);
    }
  }

  // --- one case: per model, outputs side by side with the diff, checks, judge, tools ---
  function detail(row) {
    const box = el("div", "detail");
    box.dataset.detail = row.id;
    row.cells.forEach((cell, i) => { if (cell && (!state.model || DATA.models[i] === state.model)) box.appendChild(modelDetail(cell, DATA.models[i])); });
    return box;
  }
  function rateText(passed, n, low, high) {
    return passed + "/" + n + " passed (" + pct(passed / n) + ", 95% interval " + pct(low) + "–" + pct(high) + ")";
  }
  function modelDetail(cell, model) {
    const box = el("section", "model");
    const head = add(el("div", "model-head"), el("span", "name", model), el("span", "pill e-" + cell.effect, cell.effect === "none" ? cell.verdict : cell.effect));
    if (cell.effect !== "none" && cell.effect !== "new") head.appendChild(el("span", null, cell.cause + (cell.reason ? ": " + cell.reason : "")));
    box.appendChild(head);
    let rates = "now " + rateText(cell.passed, cell.n, cell.interval[0], cell.interval[1]);
    if (cell.base) rates += " · baseline " + rateText(cell.base[0], cell.base[1], cell.base[2], cell.base[3]);
    if (cell.p_value !== null && cell.p_value !== undefined) rates += " · adjusted p " + cell.p_value.toPrecision(3);
    box.appendChild(el("div", "rates", rates));
    const sampled = cell.n > 1 || (cell.base && cell.base[1] > 1);
    box.appendChild(sampled ? groups(cell) : outputs(cell));
    if (cell.checks.length) box.appendChild(checks(cell.checks));
    add(box, judged("Judge's reasoning (this run)", cell.now), judged("Judge's reasoning (baseline)", cell.was));
    const calls = cell.now.length ? cell.now[0] : null;
    const before = cell.was.length ? cell.was[0].tools : null;
    if (calls && (calls.tools.length || (before && before.length))) box.appendChild(toolCalls(calls.tools, before));
    if (calls && calls.trace.length) box.appendChild(traceView(calls.trace));
    box.appendChild(acceptLine(cell.accept));
    return box;
  }
  function outputs(cell) {
    const was = cell.was.length ? cell.was[0].text : null;
    const now = cell.now.length ? cell.now[0].text : "";
    const sides = el("div", "sides");
    const left = add(el("div", "side"), el("h3", null, "baseline"));
    const right = add(el("div", "side"), el("h3", null, "this run"));
    if (was === null) {
      left.appendChild(el("pre", "out", "(no baseline entry yet)"));
      right.appendChild(el("pre", "out", now));
      return add(sides, left, right);
    }
    const json = jsonDiff(was, now);
    if (json) return add(el("div"), json);
    const ops = wordDiff(was, now);
    return add(sides, add(left, marked(ops, -1, "del")), add(right, marked(ops, 1, "ins")));
  }
  function marked(ops, side, cls) {
    const out = el("pre", "out");
    let run = null;
    for (const [kind, text] of ops) {
      if (kind === -side) continue;
      if (kind === 0) { out.appendChild(document.createTextNode(text)); run = null; continue; }
      if (!run) run = out.appendChild(el("span", cls, ""));
      run.textContent += text;
    }
    return out;
  }
  function groups(cell) {
    const box = el("div");
    const part = (title, list) => {
      const side = add(el("div", "side"), el("h3", null, title));
      const all = el("div", "groups");
      for (const group of list) {
        const headline = "×" + group.count + " · " + group.passed + "/" + group.count + " passed" + (group.format_error ? " · " + group.format_error : "");
        add(all, add(el("div"), el("div", "group-head", headline), el("pre", "out", group.text)));
      }
      return add(side, all);
    };
    box.appendChild(el("h3", null, "Samples grouped by identical output"));
    return add(box, add(el("div", "sides"), part("baseline: " + plural(cell.was.length, "distinct output"), cell.was), part("this run: " + plural(cell.now.length, "distinct output"), cell.now)));
  }
  function checks(list) {
    const table = el("table", "grid");
    add(table, add(el("tr"), el("th", null, "check"), el("th", null, "baseline"), el("th", null, "→ this run")));
    const text = (t) => (t ? (t[0] === t[1] ? "pass" : t[0] === 0 ? "fail" : t[0] + "/" + t[1] + " pass") + " · score " + t[2] : "–");
    const cls = (t) => (t ? (t[0] === t[1] ? "ok" : "bad") : "");
    for (const [label, old, now] of list) {
      add(table, add(el("tr"), el("td", "mono", label), el("td", cls(old), text(old)), el("td", cls(now), text(now))));
    }
    return add(el("div"), el("h3", null, "Checks, baseline → this run"), table);
  }
  function judged(title, groups) {
    const notes = groups.flatMap((group) => group.judge);
    if (!notes.length) return null;
    const box = add(el("div"), el("h3", null, title));
    for (const [check, passed, reason] of notes) {
      const note = add(el("div", "judge"), el("span", passed ? "ok" : "bad", (passed ? "✓ " : "✗ ") + check + ": "));
      box.appendChild(add(note, document.createTextNode(reason)));
    }
    return box;
  }
  function toolCalls(now, before) {
    const list = (calls) => {
      const items = el("ol", "calls");
      for (const [name, args] of calls) add(items, add(el("li"), el("code", null, name + "(" + JSON.stringify(args) + ")")));
      if (!calls.length) items.appendChild(el("li", "sub", "(no tool call)"));
      return items;
    };
    if (!before || JSON.stringify(before) === JSON.stringify(now)) return add(el("div"), el("h3", null, "Tool calls"), list(now));
    const side = (title, calls) => add(el("div", "side"), el("h3", null, title), list(calls));
    return add(el("div"), el("h3", null, "Tool calls, baseline → this run"), add(el("div", "sides"), side("baseline", before), side("this run", now)));
  }
  function traceView(trace) {
    const box = add(el("div"), el("h3", null, "Flow trace: " + plural(trace.length, "model call")));
    const list = el("ol", "calls");
    for (const step of trace) {
      const item = add(el("li"), el("code", null, step.step + " [" + step.model + "]"));
      if (step.tools.length) item.appendChild(el("span", "sub", " → " + step.tools.map((c) => c[0]).join(", ")));
      add(list, add(item, el("pre", "out", step.output)));
    }
    return add(box, list);
  }
  function acceptLine(command) {
    const line = add(el("div", "cmdline"), el("code", "cmd", command));
    const button = el("button", null, "Copy");
    button.addEventListener("click", (event) => {
      event.stopPropagation();
      const done = () => { button.textContent = "Copied"; setTimeout(() => { button.textContent = "Copy"; }, 1500); };
      if (navigator.clipboard) navigator.clipboard.writeText(command).then(done, () => selectText(line.firstChild));
      else selectText(line.firstChild);
    });
    return add(el("div"), el("h3", null, "Accept this result as the baseline"), add(line, button));
  }
  function selectText(node) {
    const range = document.createRange();
    range.selectNodeContents(node);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  // --- word-level diff (Myers over word, space and punctuation tokens) ---
  function tokens(text) {
    return text.match(/\s+|[\p{L}\p{N}_]+|[^\s\p{L}\p{N}_]/gu) || [];
  }
  function wordDiff(before, after) {
    const a = tokens(before), b = tokens(after);
    let start = 0;
    while (start < a.length && start < b.length && a[start] === b[start]) start++;
    let endA = a.length, endB = b.length;
    while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) { endA--; endB--; }
    const middle = myers(a.slice(start, endA), b.slice(start, endB), 2000)
      || [[-1, a.slice(start, endA).join("")], [1, b.slice(start, endB).join("")]];
    const ops = [[0, a.slice(0, start).join("")], ...middle, [0, a.slice(endA).join("")]];
    const merged = [];
    // a space between two changes reads better as part of them than as a kept word
    for (let i = 1; i < ops.length - 1; i++) {
      if (ops[i][0] === 0 && /^\s+$/.test(ops[i][1]) && ops[i - 1][0] !== 0 && ops[i + 1][0] !== 0) {
        ops.splice(i, 1, [-1, ops[i][1]], [1, ops[i][1]]);
      }
    }
    for (const [kind, text] of ops) {
      if (!text) continue;
      const last = merged[merged.length - 1];
      if (last && last[0] === kind) last[1] += text; else merged.push([kind, text]);
    }
    return merged;
  }
  function myers(a, b, maxEdits) {
    const n = a.length, m = b.length, off = n + m + 1;
    const v = new Int32Array(2 * off + 2);
    const trace = [];
    for (let d = 0; d <= Math.min(maxEdits, n + m); d++) {
      trace.push(v.slice(off - d - 1, off + d + 2));
      for (let k = -d; k <= d; k += 2) {
        let x = k === -d || (k !== d && v[off + k - 1] < v[off + k + 1]) ? v[off + k + 1] : v[off + k - 1] + 1;
        let y = x - k;
        while (x < n && y < m && a[x] === b[y]) { x++; y++; }
        v[off + k] = x;
        if (x >= n && y >= m) return backtrack(trace, a, b, n, m);
      }
    }
    return null;
  }
  function backtrack(trace, a, b, x, y) {
    const ops = [];
    for (let d = trace.length - 1; d >= 0; d--) {
      const v = trace[d], at = (k) => v[k + d + 1];
      const k = x - y;
      const down = k === -d || (k !== d && at(k - 1) < at(k + 1));
      const prevK = down ? k + 1 : k - 1;
      const prevX = d === 0 ? 0 : at(prevK), prevY = d === 0 ? 0 : prevX - prevK;
      while (x > prevX && y > prevY) { ops.push([0, a[x - 1]]); x--; y--; }
      if (d > 0) {
        if (down) ops.push([1, b[y - 1]]); else ops.push([-1, a[x - 1]]);
        x = prevX; y = prevY;
      }
    }
    return ops.reverse();
  }

  // --- path-level diff of two JSON outputs ---
  function parseJson(text) {
    const fenced = text.trim().replace(/^```(?:json)?\s*\n([\s\S]*?)\n?```$/, "$1");
    try {
      const value = JSON.parse(fenced);
      return value !== null && typeof value === "object" ? value : undefined;
    } catch (error) {
      return undefined;
    }
  }
  // a model may answer JSON nested thousands of levels deep: past this depth a value is one
  // leaf (its JSON text), so the recursion stays far from the stack's limit
  const MAX_DEPTH = 100;
  function flatten(value, path, into, depth) {
    if (depth < MAX_DEPTH && value !== null && typeof value === "object" && Object.keys(value).length) {
      for (const key of Object.keys(value)) {
        const step = Array.isArray(value) ? "[" + key + "]" : /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? "." + key : "[" + JSON.stringify(key) + "]";
        flatten(value[key], path + step, into, depth + 1);
      }
    } else into.set(path, JSON.stringify(value));
    return into;
  }
  function jsonDiff(before, after) {
    const a = parseJson(before), b = parseJson(after);
    if (a === undefined || b === undefined) return null;
    let old, now;
    try {
      old = flatten(a, "$", new Map(), 0);
      now = flatten(b, "$", new Map(), 0);
    } catch (error) {
      return null; // a leaf too deep for JSON.stringify itself (RangeError): diffed as text
    }
    const paths = [...new Set([...old.keys(), ...now.keys()])].sort();
    const table = el("table", "grid");
    add(table, add(el("tr"), el("th", null, "path"), el("th", null, "baseline"), el("th", null, "this run")));
    let same = 0;
    for (const path of paths) {
      const was = old.get(path), is = now.get(path);
      if (was === is) { same++; continue; }
      add(table, add(el("tr"), el("td", "mono", path),
        el("td", "mono" + (was === undefined ? "" : " del"), was === undefined ? "(absent)" : was),
        el("td", "mono" + (is === undefined ? "" : " ins"), is === undefined ? "(absent)" : is)));
    }
    const box = add(el("div"), el("h3", null, "JSON output: paths that differ (" + plural(same, "path") + " the same)"), table);
    const sides = add(el("div", "sides"), add(el("div", "side"), el("h3", null, "baseline"), el("pre", "out", before)),
      add(el("div", "side"), el("h3", null, "this run"), el("pre", "out", after)));
    return add(box, sides);
  }

  // --- notes: sampled prompts, unused entries, errors ---
  function notes() {
    const box = el("section", "panel notes");
    const items = el("ul");
    for (const line of DATA.sampled) items.appendChild(el("li", null, line));
    for (const [path, ids] of Object.entries(DATA.unused)) items.appendChild(el("li", null, "Unused baseline entries in " + path + ": " + ids.join(", ")));
    for (const error of DATA.errors) items.appendChild(el("li", "bad", error.node + ": " + error.error));
    if (!items.childNodes.length) return null;
    return add(box, el("h2", null, "Notes"), items);
  }

  add(app, header(), filterBar());
  list = el("div", "list");
  list.style.setProperty("--columns", columns());
  more = add(el("div", "more"), el("button"));
  more.firstChild.addEventListener("click", drawMore);
  add(app, list, more, notes());
  document.addEventListener("keydown", (event) => {
    if (event.key === "/" && document.activeElement !== controls.q) { event.preventDefault(); controls.q.focus(); }
  });
  if ("IntersectionObserver" in window) {
    new IntersectionObserver((seen) => { if (seen[0].isIntersecting && drawn < shown.length) drawMore(); }).observe(more);
  }
  refresh();
  document.documentElement.dataset.rendered = String(drawn);
  document.documentElement.dataset.renderMs = performance.now().toFixed(1);
})();
