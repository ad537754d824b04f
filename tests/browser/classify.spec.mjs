// Drives the explorer's classifier panel in Debian's headless Chromium (playwright-core, never a
// browser download). Usage: node classify.spec.mjs <base url> <screenshot dir> <classifier> <plain model>
//
// Types a text with the classifier model chosen and reads the labels and tokens the page shows; then
// chooses a model that is not a classifier and reads the message. Prints one JSON line of what the
// page showed; the pytest driver compares it with the API's own answers.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const [base, shots, classifier, plain] = process.argv.slice(2);
if (!base || !shots || !classifier || !plain) {
  console.error("usage: node classify.spec.mjs <base url> <screenshot dir> <classifier> <plain model>");
  process.exit(2);
}
mkdirSync(shots, { recursive: true });
const TEXT = process.env.CLASSIFY_TEXT;

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--disable-dev-shm-usage"],
});
const problems = [];
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
  page.setDefaultTimeout(30_000);
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
  page.on("console", (msg) => {
    if (msg.type() === "error" && !msg.text().startsWith("Failed to load resource")) problems.push(msg.text());
  });
  page.on("response", (r) => {
    if (r.status() >= 400 && !(r.status() === 422 && r.url().endsWith("/classify"))) {
      problems.push(`${r.status()} from ${r.url()}`);
    }
  });
  await page.goto(base + "/");
  await page.waitForSelector(`#model option[value="${classifier}"]`, { state: "attached" });
  await page.selectOption("#model", classifier);
  await page.fill("#classify-text", TEXT);
  await page.fill("#classify-k", "2");
  await page.click("#classify-form button");
  await page.waitForSelector("#classify-out:not([hidden]) #classify-labels li");
  const shown = {
    labels: await page.$$eval("#classify-labels li", (lis) => lis.map((li) => [li.dataset.label, Number(li.dataset.probability)])),
    bars: await page.$$eval("#classify-labels li .bar span", (spans) => spans.map((s) => s.style.width)),
    tokens: await page.$$eval("#classify-tokens li", (lis) => lis.map((li) => [li.dataset.token, li.className])),
  };
  await page.locator("#classify-card").screenshot({ path: join(shots, "classifier-panel.png") });
  await page.selectOption("#model", plain);
  await page.click("#classify-form button");
  await page.waitForSelector("#classify-message:not([hidden])");
  shown.notClassifier = await page.textContent("#classify-message");
  shown.outHidden = await page.$eval("#classify-out", (el) => el.hidden);
  if (problems.length) throw new Error(problems.join("\n"));
  console.log(JSON.stringify(shown));
} finally {
  await browser.close();
}
