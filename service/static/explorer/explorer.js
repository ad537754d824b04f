// firth explorer: one POST /v1/models/{model}/project per query gives both the ranked list and
// the map (the service gathers the neighbourhood or analogy and projects it). Plain DOM + SVG.
"use strict";

const $ = (id) => document.getElementById(id);
const SVG_NS = "http://www.w3.org/2000/svg";
const WIDTH = 900, HEIGHT = 640, PAD = 60;
// label priority on the map: the query words first, neighbours' neighbours last
const PRIORITY = { query: 0, a: 0, b: 0, c: 0, answer: 0, input: 1, neighbor: 1, candidate: 2, neighbor2: 3 };
const ROLE_NAMES = {
  query: "query", neighbor: "neighbour", neighbor2: "neighbour of a neighbour", input: "word",
  a: "a, b", c: "c, answer", candidate: "other answers",
};

const KEY_STORE = "firth-api-key";  // sessionStorage: this tab only, gone when it closes
let lastRequest = null;   // the body of the last /project request, re-sent on option changes
let lastResponse = null;  // its JSON answer, for the JSON download

// -- requests ---------------------------------------------------------------------------

function options() {
  return {
    k: Math.max(1, Math.min(100, parseInt($("k").value, 10) || 10)),
    exact: $("exact").value === "true",
    method: $("method").value,
    projection: $("projection").value,
  };
}

function modelUrl() {
  return `/v1/models/${encodeURIComponent($("model").value || "default")}/project`;
}

// -- the API key (servers started with FIRTH_API_KEYS) -----------------------------------

function storedKey() {
  try {
    return sessionStorage.getItem(KEY_STORE) || "";
  } catch {
    return "";  // storage disabled: the key lives only in the field
  }
}

function askForKey(text) {
  $("key-form").hidden = false;
  showMessage(text);
  $("api-key").focus();
}

// fetch with the key, when there is one; a 401 shows the key field
async function api(url, init = {}) {
  const key = storedKey() || $("api-key").value.trim();
  const headers = { ...(init.headers || {}) };
  if (key) headers.Authorization = `Bearer ${key}`;
  const response = await fetch(url, { ...init, headers });
  if (response.status === 401) {
    askForKey(key ? "The service refused this API key: enter another." : "This service needs an API key.");
  }
  return response;
}

function useKey() {
  const key = $("api-key").value.trim();
  try {
    if (key) sessionStorage.setItem(KEY_STORE, key);
    else sessionStorage.removeItem(KEY_STORE);
  } catch {
    // storage disabled: api() reads the field itself
  }
  showMessage(null);
  loadModels().then(rerun);
}

async function post(body) {
  return api(modelUrl(), {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
}

async function run(query) {
  const opts = options();
  const body = { ...query, ...opts };
  if (query.word !== undefined) {
    // neighbours of neighbours: at most 500 points, so k <= 21 at depth 2
    if ($("depth2").checked && opts.k <= 21) body.depth = 2;
  }
  lastRequest = body;
  showMessage(null);
  $("map-caption").textContent = opts.projection === "tsne" ? "Computing t-SNE…" : "Computing…";
  document.body.classList.add("busy");
  try {
    const response = await post(body);
    const data = await response.json();
    if (response.status === 401) {  // api() asked for a key
      if (lastResponse) renderCaption(lastResponse);
      else $("map-caption").textContent = "";
      return;
    }
    if (!response.ok) {
      showProblem(data, query);
      return;
    }
    lastResponse = data;
    renderResults(data, query);
    renderMap(data);
  } catch (err) {
    showMessage(`The service did not answer (${err.message}).`);
  } finally {
    document.body.classList.remove("busy");
  }
}

// -- messages ---------------------------------------------------------------------------

function showMessage(text) {
  const box = $("message");
  box.replaceChildren();
  box.hidden = !text;
  if (text) box.append(text);
  return box;
}

function showProblem(problem, query) {
  // the map still shows the previous answer: say so in its caption again
  if (lastResponse) renderCaption(lastResponse);
  else $("map-caption").textContent = "";
  const box = showMessage(problem.detail || problem.title || "The request failed.");
  const suggestions = problem.suggestions || [];
  if (problem.word !== undefined) {
    const line = document.createElement("div");
    line.className = "suggestions";
    line.append(suggestions.length ? "Did you mean " : "No close spellings in the vocabulary.");
    for (const word of suggestions) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "suggestion";
      button.textContent = word;
      button.addEventListener("click", () => retryWith(query, problem.word, word));
      line.append(button);
    }
    box.append(line);
  }
}

function retryWith(query, unknown, replacement) {
  const fields = query.analogy ? ["analogy-a", "analogy-b", "analogy-c"] : ["word"];
  for (const id of fields) if ($(id).value.trim() === unknown) $(id).value = replacement;
  (query.analogy ? submitAnalogy : submitWord)();
}

// -- the ranked list --------------------------------------------------------------------

function renderResults(data, query) {
  const title = $("results-title");
  title.replaceChildren();
  if (query.analogy) {
    const { a, b, c } = query.analogy;
    title.append(`${a} : ${b} :: ${c} : `);
    const answer = document.createElement("span");
    answer.className = "answer";
    answer.id = "analogy-answer";
    answer.textContent = data.answer ?? "—";
    title.append(answer);
  } else {
    title.append(`Nearest neighbours of “${query.word}”`);
  }
  const list = $("result-list");
  list.replaceChildren();
  for (const { word, similarity } of data.neighbors) {
    const item = document.createElement("li");
    item.className = "entry";
    item.dataset.word = word;
    const link = document.createElement("a");
    link.href = "#";
    link.textContent = word;
    link.addEventListener("click", (event) => {
      event.preventDefault();
      $("word").value = word;
      submitWord();
    });
    const bar = document.createElement("div");
    bar.className = "bar";
    const fill = document.createElement("span");
    fill.style.width = `${Math.max(0, Math.min(1, similarity)) * 100}%`;
    bar.append(fill);
    const sim = document.createElement("span");
    sim.className = "sim";
    sim.textContent = similarity.toFixed(3);
    item.append(link, bar, sim);
    list.append(item);
  }
  $("results").hidden = false;
}

// -- the map ----------------------------------------------------------------------------

function svg(tag, attrs, parent) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (parent) parent.append(node);
  return node;
}

// Equal scale on both axes, so distances and the analogy's parallel offsets are not distorted.
function scaler(points) {
  const xs = points.map((p) => p.x), ys = points.map((p) => p.y);
  const minX = Math.min(...xs), maxX = Math.max(...xs), minY = Math.min(...ys), maxY = Math.max(...ys);
  const span = Math.max(maxX - minX, (maxY - minY) * (WIDTH - 2 * PAD) / (HEIGHT - 2 * PAD), 1e-9);
  const scale = (WIDTH - 2 * PAD) / span;
  const cx = (minX + maxX) / 2, cy = (minY + maxY) / 2;
  return (p) => [WIDTH / 2 + (p.x - cx) * scale, HEIGHT / 2 - (p.y - cy) * scale];
}

// Greedy label placement: try right, left, above, below; minor labels that collide are dropped
// (their word stays in the point's tooltip).
function placeLabels(items) {
  const placed = [];
  const overlaps = (box) => placed.some((o) =>
    box.x < o.x + o.w && o.x < box.x + box.w && box.y < o.y + o.h && o.y < box.y + box.h);
  for (const item of items) placed.push({ x: item.px - 5, y: item.py - 5, w: 10, h: 10 });
  const ordered = [...items].sort((p, q) => PRIORITY[p.role] - PRIORITY[q.role]);
  for (const item of ordered) {
    const size = item.role === "neighbor2" ? 11 : PRIORITY[item.role] === 0 ? 16 : 14;
    const w = item.word.length * size * 0.6, h = size;
    const candidates = [
      [item.px + 8, item.py - h / 2, "start"], [item.px - 8 - w, item.py - h / 2, "end"],
      [item.px - w / 2, item.py - 8 - h, "middle"], [item.px - w / 2, item.py + 8, "middle"],
    ];
    let chosen = null;
    for (const [x, y, anchor] of candidates) {
      const box = { x, y, w, h };
      if (box.x >= 0 && box.x + w <= WIDTH && box.y >= 0 && box.y + h <= HEIGHT && !overlaps(box)) {
        chosen = { box, anchor };
        break;
      }
    }
    if (!chosen && item.role === "neighbor2") continue;
    chosen = chosen || { box: { x: candidates[0][0], y: candidates[0][1], w, h }, anchor: "start" };
    placed.push(chosen.box);
    const tx = chosen.anchor === "start" ? chosen.box.x : chosen.anchor === "end" ? chosen.box.x + w
      : chosen.box.x + w / 2;
    item.label = { x: tx, y: chosen.box.y + h * 0.82, anchor: chosen.anchor };
  }
}

function renderMap(data) {
  const edges = $("edges"), arrows = $("arrows"), layer = $("points");
  edges.replaceChildren();
  arrows.replaceChildren();
  layer.replaceChildren();
  const toScreen = scaler(data.points);
  const items = data.points.map((p) => {
    const [px, py] = toScreen(p);
    return { ...p, px, py };
  });
  const byWord = new Map(items.map((item) => [item.word, item]));

  for (const item of items) {
    const parent = item.parent && byWord.get(item.parent);
    if (!parent || item.role === "answer" || item.role === "candidate") continue;
    svg("line", {
      class: item.role === "neighbor2" ? "edge second" : "edge",
      x1: parent.px, y1: parent.py, x2: item.px, y2: item.py,
    }, edges);
  }

  data.arrows.forEach(({ source, target }, i) => {
    const from = byWord.get(source), to = byWord.get(target);
    if (!from || !to) return;
    const dx = to.px - from.px, dy = to.py - from.py, length = Math.hypot(dx, dy) || 1;
    const trim = Math.min(10, length / 3);  // stop at the circle's edge so the head stays visible
    const kind = i === 0 ? "ab" : "cd";
    svg("line", {
      class: `arrow ${kind}`, "data-source": source, "data-target": target,
      x1: from.px + (dx / length) * trim, y1: from.py + (dy / length) * trim,
      x2: to.px - (dx / length) * trim, y2: to.py - (dy / length) * trim,
      "marker-end": `url(#head-${kind})`,
    }, arrows);
  });

  placeLabels(items);
  const drawOrder = [...items].sort((p, q) => PRIORITY[q.role] - PRIORITY[p.role]);
  for (const item of drawOrder) {
    const group = svg("g", { class: `point ${item.role}`, "data-word": item.word, "data-role": item.role }, layer);
    const radius = PRIORITY[item.role] === 0 ? 7 : item.role === "neighbor2" ? 3.5 : 5;
    svg("circle", { cx: item.px, cy: item.py, r: radius, class: `role-${item.role}` }, group);
    const sim = item.similarity == null ? "" : ` (${item.similarity.toFixed(3)})`;
    svg("title", {}, group).textContent = `${item.word}${sim}`;
    if (item.label) {
      const text = svg("text", { x: item.label.x, y: item.label.y, "text-anchor": item.label.anchor }, group);
      text.textContent = item.word;
    }
    group.addEventListener("click", () => {
      $("word").value = item.word;
      submitWord();
    });
  }
  renderCaption(data);
  renderLegend(data);
  $("download-csv").disabled = false;
  $("download-json").disabled = false;
}

function renderCaption(data) {
  const n = data.points.length;
  let text;
  if (data.projection === "pca") {
    const shares = data.explained_variance.map((v) => `${(v * 100).toFixed(0)}%`).join(" + ");
    text = `PCA of ${n} unit vectors · axes explain ${shares} of their variance`;
  } else {
    text = `t-SNE of ${n} unit vectors · perplexity ${data.perplexity.toFixed(1)} · seed ${data.seed}`;
  }
  if (data.index) text += ` · ${data.index} search`;
  $("map-caption").textContent = text;
}

function renderLegend(data) {
  const legend = $("legend");
  legend.replaceChildren();
  const roles = new Set(data.points.map((p) => (p.role === "b" ? "a" : p.role === "answer" ? "c" : p.role)));
  for (const role of roles) {
    const entry = document.createElement("span");
    const dot = document.createElement("i");
    dot.className = `dot-${role}`;
    entry.append(dot, ROLE_NAMES[role] || role);
    legend.append(entry);
  }
  if (data.arrows.length) legend.append("Arrows: the offsets a → b and c → answer.");
}

// -- downloads --------------------------------------------------------------------------

function saveBlob(blob, filename) {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = filename;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

async function downloadCsv() {
  if (!lastRequest) return;
  const response = await post({ ...lastRequest, format: "csv" });
  if (response.status === 401) return;
  if (!response.ok) return showProblem(await response.json(), lastRequest);
  const disposition = response.headers.get("Content-Disposition") || "";
  const name = (disposition.match(/filename="([^"]+)"/) || [])[1] || "firth-projection.csv";
  saveBlob(await response.blob(), name);
}

function downloadJson() {
  if (!lastResponse) return;
  const blob = new Blob([JSON.stringify(lastResponse, null, 2)], { type: "application/json" });
  saveBlob(blob, `firth-${lastResponse.model}-${lastResponse.projection}.json`);
}

// -- wiring -----------------------------------------------------------------------------

function submitWord() {
  const word = $("word").value.trim();
  if (word) run({ word });
}

function submitAnalogy() {
  const [a, b, c] = ["analogy-a", "analogy-b", "analogy-c"].map((id) => $(id).value.trim());
  if (a && b && c) run({ analogy: { a, b, c } });
}

async function loadModels() {
  const select = $("model");
  try {
    const response = await api("/v1/models");
    if (response.status === 401) return;  // api() asked for a key; useKey() calls again
    const { models } = await response.json();
    const chosen = select.value;
    select.replaceChildren();
    for (const m of models) {
      const option = new Option(m.name, m.name, m.default, m.default);
      option.dataset.info = `${m.vocab_size.toLocaleString("en")} words · ${m.dim}-d · ` +
        `index ${m.index_kinds.includes("hnsw") ? "HNSW" : "exact only"}`;
      select.append(option);
    }
    if (chosen && models.some((m) => m.name === chosen)) select.value = chosen;
    showModelInfo();
  } catch (err) {
    showMessage(`Could not list the models (${err.message}).`);
  }
}

function showModelInfo() {
  const option = $("model").selectedOptions[0];
  $("model-info").textContent = option ? option.dataset.info : "";
}

function rerun() {
  if (!lastRequest) return;
  const { word, analogy, words } = lastRequest;
  run(word !== undefined ? { word } : analogy ? { analogy } : { words });
}

$("word-form").addEventListener("submit", (event) => {
  event.preventDefault();
  submitWord();
});
$("analogy-form").addEventListener("submit", (event) => {
  event.preventDefault();
  submitAnalogy();
});
for (const id of ["k", "exact", "method", "projection", "depth2"]) $(id).addEventListener("change", rerun);
$("model").addEventListener("change", () => {
  showModelInfo();
  rerun();
});
$("download-csv").addEventListener("click", downloadCsv);
$("download-json").addEventListener("click", downloadJson);
$("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  useKey();
});
if (storedKey()) {
  $("key-form").hidden = false;  // a key from earlier in this tab: show it, so it can be changed
  $("api-key").value = storedKey();
}
loadModels();
