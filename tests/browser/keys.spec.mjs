// The explorer and Swagger UI against a server started with FIRTH_API_KEYS, in Debian's headless
// Chromium through playwright-core. Usage: node keys.spec.mjs <base url> <api key> <screenshot dir>
//
// Explorer: the page asks for a key on the 401, refuses a wrong one, works with the right one
// (the word query and the text pipeline panel), keeps it in sessionStorage across a reload.
// Swagger UI: Authorize with the key, then "Try it out" on GET /v1/models answers 200. Exits
// non-zero on the first failed check; on success prints one JSON line of what the pages showed,
// which the pytest driver compares with the API.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const [base, key, shots] = process.argv.slice(2);
if (!base || !key || !shots) {
  console.error("usage: node keys.spec.mjs <base url> <api key> <screenshot dir>");
  process.exit(2);
}
mkdirSync(shots, { recursive: true });

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
const statuses = [];  // [status, path] of every API answer, in order
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
  page.setDefaultTimeout(30_000);
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
  page.on("response", (r) => {
    const path = new URL(r.url()).pathname;
    if (path.startsWith("/v1/")) statuses.push([r.status(), path]);
    else if (r.status() >= 400) problems.push(`${r.status()} from ${r.url()}`);
  });
  await page.route("**/*", (route) => {
    const url = route.request().url();
    if (url.startsWith(base)) return route.continue();
    problems.push(`request outside the service: ${url}`);
    return route.abort();
  });

  // -- the explorer asks for a key -------------------------------------------------------
  await page.goto(base + "/");
  await page.waitForSelector("#key-form:not([hidden])");
  const asked = await page.textContent("#message");
  check(asked.includes("needs an API key"), `asks for a key: ${asked}`);
  await page.screenshot({ path: join(shots, "keys-asked.png") });

  await page.fill("#api-key", "not-the-key");
  await page.click("#key-form button");
  await page.waitForFunction(() => document.querySelector("#message").textContent.includes("refused"));
  const refused = await page.textContent("#message");

  await page.fill("#api-key", key);
  await page.click("#key-form button");
  await page.waitForSelector("#model option", { state: "attached" });
  check(await page.isHidden("#message"), "the message is cleared");
  const stored = await page.evaluate(() => sessionStorage.getItem("firth-api-key"));
  check(stored === key, "the key is in sessionStorage");
  check(await page.evaluate(() => localStorage.length) === 0, "nothing in localStorage");

  await page.fill("#word", "frog");
  await page.click("#word-form button");
  await page.waitForSelector("#results:not([hidden]) #result-list li");
  const list = await page.$$eval("#result-list li", (lis) => lis.map((li) => li.dataset.word));
  await page.screenshot({ path: join(shots, "keys-explorer.png") });

  // the text pipeline panel sends the key too (encode, vectors, embed, neighbors)
  await page.fill("#sentence", "the frog");
  await page.press("#sentence", "Enter");
  await page.waitForSelector("#pipeline-out:not([hidden]) #pipeline-neighbors li");
  const pipelineIds = await page.$$eval("#pipeline-ids li", (lis) => lis.map((li) => Number(li.dataset.id)));

  // a reload in the same tab keeps the key: the models load without asking
  await page.reload();
  await page.waitForSelector("#model option", { state: "attached" });
  check(await page.isHidden("#message"), "no message after the reload");
  const models = await page.$$eval("#model option", (os) => os.map((o) => o.value));

  // -- Swagger UI: Authorize, then Try it out ------------------------------------------
  await page.goto(base + "/docs");
  await page.click("button.authorize");
  await page.fill(".modal-ux input", key);
  await page.click(".modal-ux .auth-btn-wrapper button.authorize");
  await page.click(".modal-ux button.btn-done");
  const operation = page.locator(".opblock-get", { has: page.locator('[data-path="/v1/models"]') });
  await operation.locator(".opblock-summary").click();
  await operation.locator(".try-out__btn").click();
  await operation.locator("button.execute").click();
  await operation.locator(".live-responses-table tbody .response-col_status").first().waitFor();
  const swaggerStatus = (await operation.locator(".live-responses-table tbody .response-col_status").first().textContent()).trim();
  const curl = await operation.locator(".curl-command").textContent();
  await page.screenshot({ path: join(shots, "keys-swagger.png") });

  check(problems.length === 0, problems.join("; "));
  console.log(JSON.stringify({ asked, refused, list, pipelineIds, models, swaggerStatus, curlHasBearer: curl.includes("Bearer"), statuses }));
} catch (err) {
  console.error(err.stack || String(err));
  if (problems.length) console.error(problems.join("\n"));
  process.exitCode = 1;
} finally {
  await browser.close();
}
