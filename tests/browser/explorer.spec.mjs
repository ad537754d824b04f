// Drives the explorer page in Debian's headless Chromium through playwright-core (which never
// downloads a browser). Usage: node explorer.spec.mjs <base url> <screenshot dir>
//
// Flows: a word (list + map with neighbours of neighbours), an analogy with a typo (the unknown-word
// message and its suggestions, then the suggestion clicked: answer + two arrows), and the switch
// to t-SNE; the text pipeline panel (a sentence's tokens, ids with pads and [UNK], per-token vector
// strips, their mean and nearest words; a sentence with no known word; two sentences compared; the
// panel at 360 px). Exits non-zero on the first failed check; on success prints one JSON line of
// what the page showed, which the pytest driver compares with the API's own answers.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const [base, shots] = process.argv.slice(2);
if (!base || !shots) {
  console.error("usage: node explorer.spec.mjs <base url> <screenshot dir>");
  process.exit(2);
}
mkdirSync(shots, { recursive: true });
const TIMEOUT = 30_000;

function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
}

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--disable-dev-shm-usage",
  ],
});
const problems = [];
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
  page.setDefaultTimeout(TIMEOUT);
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
  // Chromium logs every 4xx as a console error; the unknown word's 404 is expected, others are not.
  page.on("console", (msg) => {
    if (msg.type() === "error" && !msg.text().startsWith("Failed to load resource")) {
      problems.push(`console error: ${msg.text()}`);
    }
  });
  page.on("response", (r) => {
    const expected = (r.status() === 404 && r.url().endsWith("/project")) ||
      (r.status() === 422 && /\/(embed|neighbors)$/.test(r.url()));  // the sentence with no known word
    if (r.status() >= 400 && !expected) {
      problems.push(`${r.status()} from ${r.url()}`);
    }
  });
  // The page must work offline: any request that leaves the service fails the test.
  await page.route("**/*", (route) => {
    const url = route.request().url();
    if (url.startsWith(base)) return route.continue();
    problems.push(`request outside the service: ${url}`);
    return route.abort();
  });

  const mapWords = () => page.$$eval("#points g.point", (gs) => gs.map((g) => [g.dataset.word, g.dataset.role]));
  const listWords = () => page.$$eval("#result-list li", (lis) => lis.map((li) => li.dataset.word));

  await page.goto(base + "/");
  await page.waitForSelector("#model option", { state: "attached" });
  const docsHref = await page.getAttribute("a.docs", "href");
  check(docsHref === "/docs", `link to /docs, got ${docsHref}`);

  // -- a word: list and map --------------------------------------------------------------
  await page.fill("#word", "frog");
  await page.click("#word-form button");
  await page.waitForSelector('#points g.point[data-role="query"][data-word="frog"]');
  await page.waitForSelector("#results:not([hidden]) #result-list li");
  const word = { list: await listWords(), points: await mapWords() };
  word.caption = await page.textContent("#map-caption");
  word.sims = await page.$$eval("#result-list .sim", (s) => s.map((x) => Number(x.textContent)));
  check(word.list.length === 10, `10 neighbours listed, got ${word.list.length}`);
  const mapped = new Map(word.points);
  for (const w of word.list) check(mapped.get(w) === "neighbor", `neighbour ${w} on the map`);
  check(word.points.filter(([, r]) => r === "neighbor2").length > 10, "neighbours of neighbours on the map");
  check(word.caption.startsWith("PCA of"), `PCA caption, got ${word.caption}`);
  await page.screenshot({ path: join(shots, "explorer-word.png") });

  // -- an analogy with a typo: the message and its suggestions ---------------------------
  await page.fill("#analogy-a", "man");
  await page.fill("#analogy-b", "king");
  await page.fill("#analogy-c", "womann");
  await page.click("#analogy-form button");
  await page.waitForSelector("#message:not([hidden]) button.suggestion");
  const unknown = {
    message: await page.textContent("#message"),
    suggestions: await page.$$eval("#message button.suggestion", (b) => b.map((x) => x.textContent)),
  };
  check(unknown.message.includes("womann"), `the message names the word: ${unknown.message}`);
  await page.screenshot({ path: join(shots, "explorer-unknown.png") });

  // -- the suggestion clicked: answer, map, two arrows -----------------------------------
  await page.click('#message button.suggestion:text-is("woman")');
  await page.waitForSelector("#analogy-answer");
  await page.waitForSelector("#arrows line.arrow >> nth=1");
  check(await page.isHidden("#message"), "the message is cleared");
  const analogy = {
    answer: await page.textContent("#analogy-answer"),
    list: await listWords(),
    points: await mapWords(),
    arrows: await page.$$eval("#arrows line.arrow", (ls) => ls.map((l) => [l.dataset.source, l.dataset.target])),
    labels: await page.$$eval("#points g.point text", (ts) => ts.map((t) => t.textContent)),
  };
  check(analogy.arrows.length === 2, `two arrows, got ${analogy.arrows.length}`);
  const roles = new Map(analogy.points);
  for (const [w, r] of [["man", "a"], ["king", "b"], ["woman", "c"], [analogy.answer, "answer"]]) {
    check(roles.get(w) === r, `${w} on the map as ${r}, got ${roles.get(w)}`);
    check(analogy.labels.includes(w), `${w} labelled on the map`);
  }
  await page.mouse.move(0, 0);  // no hover underline in the picture
  await page.screenshot({ path: join(shots, "explorer-analogy.png") });

  // -- switch the projection to t-SNE ----------------------------------------------------
  await page.selectOption("#projection", "tsne");
  await page.waitForFunction(() => document.querySelector("#map-caption").textContent.startsWith("t-SNE"));
  const tsne = { caption: await page.textContent("#map-caption"), points: await mapWords() };
  check(tsne.points.length === analogy.points.length, "t-SNE maps the same points");
  await page.screenshot({ path: join(shots, "explorer-tsne.png") });

  // -- the text pipeline: a sentence (submitted with the keyboard), then one with no known word,
  // then two compared, then the panel at a phone's width -----------------------------------------
  const idsRow = () => page.$$eval("#pipeline-ids li", (lis) => lis.map((li) => ({
    id: Number(li.dataset.id), role: li.dataset.role, label: li.querySelector(".tag").textContent,
  })));
  const stripRows = (sel) => page.$$eval(`${sel} li`, (lis) => lis.map((li) => ({
    token: li.dataset.token,
    oov: li.dataset.oov === "true",
    values: [...li.querySelectorAll(".cells i")].map((c) => Number(c.dataset.value)),
  })));
  await page.fill("#sequence-length", "12");
  await page.fill("#sentence", "The Frog sat by the quiet pond, croaking");
  await page.press("#sentence", "Enter");
  await page.waitForSelector("#pipeline-out:not([hidden]) #pipeline-neighbors li");
  const sentence = {
    tokens: await page.$$eval("#pipeline-tokens li", (lis) => lis.map((li) => [li.dataset.token, li.className])),
    ids: await idsRow(),
    strip: await stripRows("#word-vectors"),
    mean: (await stripRows("#mean-strip"))[0],
    bars: await page.$$eval("#mean-bars rect", (rs) => rs.map((r) => Number(r.dataset.value))),
    neighbors: await page.$$eval("#pipeline-neighbors li", (lis) => lis.map((li) => li.dataset.word)),
  };
  check(sentence.bars.length === 50, `one bar a dimension, got ${sentence.bars.length}`);
  check(sentence.tokens.some(([, c]) => c === "oov"), "the unknown token 'pond,' is marked");
  check(sentence.ids.length === 12, `12 ids (output_sequence_length), got ${sentence.ids.length}`);
  check(sentence.ids.slice(8).every((c) => c.id === 0 && c.role === "pad" && c.label === "pad"),
    `the last four ids are pads shown as pad: ${JSON.stringify(sentence.ids.slice(8))}`);
  check(sentence.ids[6].id === 1 && sentence.ids[6].label === "[UNK]", `'pond,' is id 1 shown as [UNK]`);
  check(sentence.strip.length === sentence.tokens.length, "one vector strip a token");
  check(sentence.strip.every((r) => r.oov === (r.token === "pond,")), "only the unknown token's strip is marked");
  check(sentence.strip.every((r) => r.oov ? r.values.length === 0 : r.values.length === 50), "50 cells a known token");
  check(sentence.mean.values.length === 50, "the mean strip has a cell a dimension");
  check(await page.isVisible("#word-vectors li[data-oov] .cells.missing"), "the unknown token's gap is visible");
  await page.locator("#pipeline").screenshot({ path: join(shots, "explorer-pipeline.png") });

  await page.fill("#sentence", "qwzxv zzqqy");
  await page.click("#sentence-form button");
  await page.waitForSelector("#pipeline-message:not([hidden])");
  await page.waitForFunction(() => document.querySelectorAll("#pipeline-ids li").length === 12 &&
    document.querySelector("#pipeline-ids li").dataset.label === "[UNK]");
  sentence.empty = await page.textContent("#pipeline-message");
  sentence.emptyIds = await idsRow();
  sentence.emptyStrip = await stripRows("#word-vectors");
  check(await page.isHidden("#pipeline-mean"), "no stale mean or neighbours beside the message");

  await page.fill("#sentence-a", "A cat sat on the mat");
  await page.fill("#sentence-b", "A dog lay on the rug");
  await page.click("#compare-form button");
  await page.waitForSelector("#compare-out:not([hidden])");
  const compare = {
    cosine: Number(await page.textContent("#compare-cosine")),
    a: await page.$$eval("#compare-tokens-a li", (lis) => lis.map((li) => li.dataset.token)),
    b: await page.$$eval("#compare-tokens-b li", (lis) => lis.map((li) => li.dataset.token)),
    strip: await stripRows("#compare-strip"),
  };
  check(compare.strip.length === 2 && compare.strip.every((r) => r.values.length === 50), "two mean strips");
  await page.locator("#pipeline").screenshot({ path: join(shots, "explorer-compare.png") });

  // a phone's width: one column, nothing wider than the screen
  await page.setViewportSize({ width: 360, height: 800 });
  await page.fill("#sentence", "The Frog sat by the quiet pond, croaking");
  await page.press("#sentence", "Enter");
  await page.waitForSelector("#pipeline-mean:not([hidden]) #pipeline-neighbors li");
  const narrow = await page.evaluate(() => {
    const cards = [...document.querySelectorAll(".pipeline-card")].map((c) => c.getBoundingClientRect());
    return {
      pageWidth: document.documentElement.scrollWidth,
      viewport: window.innerWidth,
      pipelineOverflow: document.querySelector("#pipeline").scrollWidth - document.querySelector("#pipeline").clientWidth,
      stacked: cards[1].top >= cards[0].bottom,
      widest: Math.max(...[...document.querySelectorAll("#pipeline *")].map((e) => e.getBoundingClientRect().right)),
    };
  });
  check(narrow.stacked, "the two pipeline cards stack at 360 px");
  check(narrow.pageWidth <= narrow.viewport && narrow.pipelineOverflow <= 0 && narrow.widest <= narrow.viewport + 0.5,
    `the page fits 360 px: ${JSON.stringify(narrow)}`);
  await page.locator("#pipeline").screenshot({ path: join(shots, "explorer-pipeline-narrow.png") });

  check(problems.length === 0, problems.join("; "));
  console.log(JSON.stringify({ word, unknown, analogy, tsne, sentence, compare, narrow }));
} catch (err) {
  console.error(err.stack || String(err));
  if (problems.length) console.error(problems.join("\n"));
  process.exitCode = 1;
} finally {
  await browser.close();
}
