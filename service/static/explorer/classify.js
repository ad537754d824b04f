// firth explorer, the classifier panel: a text -> POST /classify -> its standardised tokens (unknown
// ones struck out) and its top labels with their probabilities, one bar a label. A model that is
// not a classifier answers a problem that says what the model is; the panel shows its detail.
// Requests go through explorer.js' api(), which adds the API key when there is one.
"use strict";

(() => {
  const byId = (id) => document.getElementById(id);

  function problem(data) {
    const box = byId("classify-message");
    box.textContent = data.detail || data.title || "The request failed.";
    box.hidden = false;
    byId("classify-out").hidden = true;
  }

  function renderTokens(text) {
    const unknown = new Set(text.oov);
    byId("classify-tokens").replaceChildren(...text.tokens.map((token) => {
      const li = document.createElement("li");
      li.textContent = token;
      li.dataset.token = token;
      if (unknown.has(token)) {
        li.className = "oov";
        li.title = "not in the vocabulary";
      }
      return li;
    }));
  }

  function renderLabels(labels) {
    byId("classify-labels").replaceChildren(...labels.map(({ label, probability }) => {
      const li = document.createElement("li");
      li.dataset.label = label;
      li.dataset.probability = String(probability);
      const name = document.createElement("span");
      name.className = "name";
      name.textContent = label;
      const bar = document.createElement("span");
      bar.className = "bar";
      const fill = document.createElement("span");
      fill.style.width = `${(100 * probability).toFixed(1)}%`;
      bar.append(fill);
      const prob = document.createElement("span");
      prob.className = "prob";
      prob.textContent = probability.toFixed(3);
      li.append(name, bar, prob);
      return li;
    }));
  }

  async function classify() {
    byId("classify-message").hidden = true;
    const model = encodeURIComponent(byId("model").value || "default");
    const k = Math.max(1, Math.min(100, parseInt(byId("classify-k").value, 10) || 3));
    const response = await api(`/v1/models/${model}/classify`, {  // explorer.js' api(): adds the API key
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ texts: [byId("classify-text").value], k }),
    });
    const data = await response.json();
    if (!response.ok) {
      problem(data);
      return;
    }
    const [text] = data.texts;
    renderTokens(text);
    renderLabels(text.labels);
    byId("classify-loss").textContent = {
      ova: "(one-vs-all: each label its own probability)",
      hs: "(hierarchical softmax: a path in the tree of labels)",
    }[data.loss] || "(softmax over all labels)";
    byId("classify-out").hidden = false;
  }

  byId("classify-form").addEventListener("submit", (event) => {
    event.preventDefault();
    classify().catch((err) => problem({ detail: String(err) }));
  });
})();
