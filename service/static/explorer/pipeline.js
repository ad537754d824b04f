// firth explorer, the text pipeline panel. A sentence, step by step, each step one request:
//   1. its standardised tokens, unknown ones marked        (POST /encode shows the tokens and oov)
//   2. its ids, padded or truncated (0 pad, 1 [UNK])       (POST /encode, output_mode int)
//   3. the known words' unit vectors, one strip a token     (POST /vectors, normalised here)
//   4. their mean, the sentence vector                      (POST /embed, pooling mean)
//   5. the sentence's nearest words                         (POST /neighbors {"text"})
// and two sentences side by side with their mean vectors and cosine (POST /embed, POST /similarity
// {"text_pairs"}). Requests go through explorer.js' api(), which adds the API key when there is one.
"use strict";

(() => {
  const byId = (id) => document.getElementById(id);
  const SVG = "http://www.w3.org/2000/svg";
  const MAX_STRIP_ROWS = 64;  // tokens drawn as vector strips; a long text lists the rest as a count
  const MAX_SEQUENCE_LENGTH = 256;
  const PAD_ID = 0, UNK_ID = 1;

  function base() {
    return `/v1/models/${encodeURIComponent(byId("model").value || "default")}`;
  }

  async function postJson(path, body) {
    const response = await api(base() + path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    return { ok: response.ok, data: await response.json() };
  }

  function problem(box, data) {
    box.textContent = data.detail || data.title || "The request failed.";
    box.hidden = false;
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // -- step 1: tokens ------------------------------------------------------------------------

  function renderTokens(list, text) {
    const unknown = new Set(text.oov);
    list.replaceChildren(...text.tokens.map((token) => {
      const li = element("li", unknown.has(token) ? "oov" : "", token);
      li.dataset.token = token;
      if (unknown.has(token)) li.title = "not in the vocabulary: left out of the mean";
      return li;
    }));
  }

  // -- step 2: ids ---------------------------------------------------------------------------

  function renderIds(ids, tokens) {
    const cells = ids.map((id, i) => {
      const role = id === PAD_ID ? "pad" : id === UNK_ID ? "unk" : "word";
      const label = role === "pad" ? "pad" : role === "unk" ? "[UNK]" : tokens[i];
      const li = element("li", role);
      li.dataset.id = String(id);
      li.dataset.role = role;
      li.dataset.label = label;
      li.append(element("b", "num", String(id)), element("span", "tag", label));
      li.title = role === "pad" ? 'id 0: the pad "", after the last token'
        : role === "unk" ? `id 1: the unknown token [UNK], for "${tokens[i]}"`
          : `id ${id}: "${label}", frequency rank ${(id - 1).toLocaleString("en")}`;
      return li;
    });
    byId("pipeline-ids").replaceChildren(...cells);
    const cut = tokens.length - ids.length;
    const note = byId("pipeline-truncated");
    note.hidden = cut <= 0;
    note.textContent = cut > 0 ? `${cut} more token${cut === 1 ? "" : "s"} cut off at the end ` +
      `(output_sequence_length ${ids.length}).` : "";
  }

  // -- steps 3 and 4: vector strips ----------------------------------------------------------

  function unit(vector) {
    const norm = Math.hypot(...vector) || 1;
    return vector.map((v) => v / norm);
  }

  // white to blue (positive) or to orange (negative), by sqrt(|value| / peak): one large component
  // (GloVe's dimension 30) would otherwise leave the rest near white
  function cellColour(value, peak) {
    const t = Math.sqrt(Math.min(1, Math.abs(value) / peak));
    const [r, g, b] = value >= 0 ? [28, 100, 184] : [217, 72, 15];
    const mix = (c) => Math.round(255 + (c - 255) * t);
    return `rgb(${mix(r)}, ${mix(g)}, ${mix(b)})`;
  }

  // one <li> a row: its label, then one cell a dimension (or, for an unknown token, a marked gap)
  function stripRow(label, vector, peak, kind) {
    const li = element("li", kind);
    li.dataset.token = label;
    li.append(element("span", "label", label));
    if (vector === null) {
      li.dataset.oov = "true";
      li.append(element("span", "cells missing", "[UNK]: not in the vocabulary, left out of the mean"));
      return li;
    }
    const cells = element("span", "cells");
    cells.setAttribute("role", "img");
    const head = vector.slice(0, 3).map((v) => v.toFixed(3)).join(", ");
    cells.setAttribute("aria-label", `${label}: ${vector.length} components, starting ${head}`);
    cells.append(...vector.map((value, i) => {
      const cell = element("i");
      cell.dataset.value = String(value);
      cell.style.background = cellColour(value, peak);
      cell.title = `${label}, dimension ${i}: ${value.toFixed(4)}`;
      return cell;
    }));
    li.append(cells);
    return li;
  }

  function peakOf(vectors) {
    let peak = 0;
    for (const v of vectors) if (v) for (const x of v) peak = Math.max(peak, Math.abs(x));
    return peak || 1;
  }

  async function wordVectors(tokens, oov) {
    const unknown = new Set(oov);
    const known = [...new Set(tokens.filter((t) => !unknown.has(t)))];
    if (!known.length) return new Map();
    const { ok, data } = await postJson("/vectors", { words: known, oov: "null" });
    if (!ok) throw new Error(data.detail || data.title || "POST /vectors failed");
    return new Map(data.vectors.filter((v) => v.vector).map((v) => [v.input, unit(v.vector)]));
  }

  function renderWordVectors(tokens, vectors, mean) {
    const shown = tokens.slice(0, MAX_STRIP_ROWS);
    const rows = shown.map((t) => vectors.get(t) || null);
    const peak = peakOf(mean ? [...rows, mean] : rows);
    byId("word-vectors").replaceChildren(...shown.map((t, i) => stripRow(t, rows[i], peak, "token")));
    const more = tokens.length - shown.length;
    byId("word-vectors-more").hidden = more <= 0;
    byId("word-vectors-more").textContent = more > 0 ? `and ${more} more tokens, not drawn.` : "";
    return peak;
  }

  function renderBars(vector) {
    const svg = byId("mean-bars");
    const width = 600, height = 120, mid = height / 2;
    const peak = Math.max(...vector.map(Math.abs)) || 1;
    const step = width / vector.length;
    const bars = vector.map((value, i) => {
      const rect = document.createElementNS(SVG, "rect");
      const h = (Math.abs(value) / peak) * (mid - 4);
      rect.setAttribute("x", String(i * step + 0.5));
      rect.setAttribute("width", String(Math.max(1, step - 1)));
      rect.setAttribute("y", String(value >= 0 ? mid - h : mid));
      rect.setAttribute("height", String(h));
      rect.setAttribute("class", value >= 0 ? "pos" : "neg");
      rect.dataset.value = String(value);
      const title = document.createElementNS(SVG, "title");
      title.textContent = `dimension ${i}: ${value.toFixed(4)}`;
      rect.append(title);
      return rect;
    });
    svg.replaceChildren(...bars);
  }

  function renderNeighbors(neighbors) {
    byId("pipeline-neighbors").replaceChildren(...neighbors.map((n) => {
      const li = element("li");
      li.dataset.word = n.word;
      li.append(n.word, element("span", "sim", n.similarity.toFixed(3)));
      return li;
    }));
  }

  // -- the sentence, step by step ------------------------------------------------------------

  function sequenceLength() {
    const n = parseInt(byId("sequence-length").value, 10);
    return Math.max(1, Math.min(MAX_SEQUENCE_LENGTH, Number.isFinite(n) ? n : 12));
  }

  async function embedSentence() {
    const text = byId("sentence").value;
    const box = byId("pipeline-message");
    box.hidden = true;
    const k = Math.max(1, Math.min(100, parseInt(byId("k").value, 10) || 10));
    const exact = byId("exact").value === "true";
    const [encoded, embedded, near] = await Promise.all([
      postJson("/encode", { texts: [text], output_mode: "int", output_sequence_length: sequenceLength() }),
      postJson("/embed", { texts: [text] }),
      postJson("/neighbors", { text, k, exact }),
    ]);
    if (!encoded.ok) {
      byId("pipeline-out").hidden = true;
      problem(box, encoded.data);
      return;
    }
    const [tokens] = encoded.data.texts;
    const vectors = await wordVectors(tokens.tokens, tokens.oov);
    const mean = embedded.ok ? embedded.data.vectors[0] : null;
    renderTokens(byId("pipeline-tokens"), tokens);
    renderIds(encoded.data.ids[0], tokens.tokens);
    const peak = renderWordVectors(tokens.tokens, vectors, mean);
    // a text with no known word has ids (all [UNK]) but no mean: say why instead of steps 4 and 5
    byId("pipeline-mean").hidden = !embedded.ok;
    if (embedded.ok) {
      byId("pipeline-dim").textContent = `(${embedded.data.dim} dimensions; same colour scale as step 3)`;
      byId("mean-strip").replaceChildren(stripRow("mean", mean, peak, "mean"));
      renderBars(mean);
      renderNeighbors(near.ok ? near.data.neighbors : []);
    } else {
      problem(box, embedded.data);
    }
    byId("pipeline-out").hidden = false;
  }

  // -- two sentences -------------------------------------------------------------------------

  async function compareSentences() {
    const a = byId("sentence-a").value, b = byId("sentence-b").value;
    const box = byId("compare-message");
    box.hidden = true;
    const [pairs, embedded] = await Promise.all([
      postJson("/similarity", { text_pairs: [[a, b]] }),
      postJson("/embed", { texts: [a, b] }),
    ]);
    if (!pairs.ok) {
      byId("compare-out").hidden = true;
      problem(box, pairs.data);
      return;
    }
    const [pair] = pairs.data.similarities;
    renderTokens(byId("compare-tokens-a"), pair.a);
    renderTokens(byId("compare-tokens-b"), pair.b);
    const means = embedded.ok ? embedded.data.vectors : [];
    const peak = peakOf(means);
    byId("compare-strip").replaceChildren(...means.map((v, i) => stripRow(i ? "second" : "first", v, peak, "mean")));
    byId("compare-cosine").textContent = pair.similarity.toFixed(4);
    byId("compare-out").hidden = false;
  }

  byId("sentence-form").addEventListener("submit", (event) => {
    event.preventDefault();
    embedSentence().catch((err) => problem(byId("pipeline-message"), { detail: String(err) }));
  });
  byId("compare-form").addEventListener("submit", (event) => {
    event.preventDefault();
    compareSentences().catch((err) => problem(byId("compare-message"), { detail: String(err) }));
  });
})();
