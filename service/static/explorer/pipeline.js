// firth explorer, the text pipeline panel: a sentence -> its standardised tokens (POST /embed shows
// them, unknown ones marked) -> the mean of the known words' unit vectors (drawn one bar a
// dimension) -> the sentence's nearest words (POST /neighbors {"text"}); and two sentences side by
// side with the cosine of their mean vectors (POST /similarity {"text_pairs"}).
"use strict";

(() => {
  const byId = (id) => document.getElementById(id);
  const SVG = "http://www.w3.org/2000/svg";

  function base() {
    return `/v1/models/${encodeURIComponent(byId("model").value || "default")}`;
  }

  async function postJson(path, body) {
    const response = await fetch(base() + path, {
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

  function renderTokens(list, text) {
    const unknown = new Set(text.oov);
    list.replaceChildren(...text.tokens.map((token) => {
      const li = document.createElement("li");
      li.textContent = token;
      li.dataset.token = token;
      if (unknown.has(token)) {
        li.className = "oov";
        li.title = "not in the vocabulary: left out of the mean";
      }
      return li;
    }));
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

  async function embedSentence() {
    const text = byId("sentence").value;
    const box = byId("pipeline-message");
    box.hidden = true;
    const k = Math.max(1, Math.min(100, parseInt(byId("k").value, 10) || 10));
    const [embedded, near] = await Promise.all([
      postJson("/embed", { texts: [text] }),
      postJson("/neighbors", { text, k }),
    ]);
    if (!embedded.ok) {
      byId("pipeline-out").hidden = true;
      problem(box, embedded.data);
      return;
    }
    const [tokens] = embedded.data.texts;
    const [vector] = embedded.data.vectors;
    renderTokens(byId("pipeline-tokens"), tokens);
    byId("pipeline-dim").textContent = `(${embedded.data.dim} dimensions)`;
    renderBars(vector);
    const list = byId("pipeline-neighbors");
    list.replaceChildren(...(near.ok ? near.data.neighbors : []).map((n) => {
      const li = document.createElement("li");
      li.dataset.word = n.word;
      const sim = document.createElement("span");
      sim.className = "sim";
      sim.textContent = n.similarity.toFixed(3);
      li.append(n.word, sim);
      return li;
    }));
    byId("pipeline-out").hidden = false;
  }

  async function compareSentences() {
    const a = byId("sentence-a").value, b = byId("sentence-b").value;
    const box = byId("compare-message");
    box.hidden = true;
    const { ok, data } = await postJson("/similarity", { text_pairs: [[a, b]] });
    if (!ok) {
      byId("compare-out").hidden = true;
      problem(box, data);
      return;
    }
    const [pair] = data.similarities;
    renderTokens(byId("compare-tokens-a"), pair.a);
    renderTokens(byId("compare-tokens-b"), pair.b);
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
