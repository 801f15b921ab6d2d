// The console in a real browser (Debian's Chromium through playwright-core)
// against a backend started here, with executions that really ran: sign in,
// walk to a node, page a DataFrame, read logs, watch a running DAG change,
// expand nodes from the keyboard, promote, and be refused as a viewer.
// Screenshots go to test-results/console/.
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DOMAIN, PROJECT, startConsoleBackend, type ConsoleBackend } from "./helpers.js";

const CHROMIUM = "/usr/bin/chromium";
const SHOTS = join(import.meta.dirname, "..", "..", "test-results", "console");
const FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

/** The few browser globals the page functions below touch (tests compile without the DOM lib). */
interface PageElement {
  hasAttribute(name: string): boolean;
  getAttribute(name: string): string | null;
  setAttribute(name: string, value: string): void;
  focus(): void;
  value: string;
}
declare const document: { activeElement: PageElement | null; querySelector(selector: string): PageElement | null };
declare const window: Record<string, unknown>;

const available = existsSync(CHROMIUM);
if (!available && process.env.CI === "true") throw new Error(`${CHROMIUM} is missing, and in CI the browser tests must run (apt-get install -y chromium)`);

describe.skipIf(!available)("the console in Chromium", () => {
  let cb: ConsoleBackend;
  let browser: Browser;
  let url: string;
  let demo: string;
  const base = `/projects/${PROJECT}/domains/${DOMAIN}`;

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    [cb, browser] = await Promise.all([
      startConsoleBackend(),
      // playwright starts the browser with a fresh temporary profile (--user-data-dir) of its own.
      chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS }),
    ]);
    url = cb.eb.backend.url!;
    demo = await cb.run("console_demo", { text: { kind: "string", value: "hello from the browser test" } }, { labels: { team: "ml" } });
  }, 90_000);
  afterAll(async () => {
    await browser?.close();
    await cb?.close();
  });

  async function signIn(token: string): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${url}/`);
    await expect.poll(() => new URL(page.url()).pathname).toBe("/login");
    await page.getByLabel("Token").fill(token);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(`${url}/`);
    return { context, page };
  }

  const shot = (page: Page, name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

  it("signs in with a token and goes from the list to an execution, a node, DataFrame pages and logs", async () => {
    const { context, page } = await signIn(cb.tokens.editor);
    await shot(page, "01-projects");
    const cookies = await context.cookies();
    expect(cookies.find((c) => c.name === "petrel_session")).toMatchObject({ httpOnly: true, sameSite: "Strict" });

    await page.getByRole("link", { name: DOMAIN }).first().click();
    await expect.poll(() => page.title()).toMatch(/demo \/ development/);
    await shot(page, "02-domain");
    await page.getByRole("link", { name: "All executions, with filters" }).click();
    await page.getByRole("link", { name: demo }).click();
    await page.waitForURL(`${url}${base}/executions/${demo}`);
    await expect.poll(() => page.locator("svg.dag").first().isVisible()).toBe(true);
    await shot(page, "03-execution");

    await page.locator('g[data-node="make_table"] a').click();
    await page.waitForURL(/\/nodes\/make_table$/);
    const caption = page.locator("table.df caption");
    await expect.poll(() => caption.textContent()).toBe("df: rows 0 to 19 (more follow)");
    await page.getByRole("link", { name: "Next rows" }).click();
    await expect.poll(() => caption.textContent()).toBe("df: rows 20 to 39 (more follow)");
    const cells = await page.locator("table.df tbody td:nth-child(3)").allTextContents();
    expect(cells[0]).toBe("row_20");
    expect(cells).not.toContain("row_19");
    // Paged in place: the page did not navigate.
    expect(page.url()).toBe(`${url}${base}/executions/${demo}/nodes/make_table`);
    await page.getByRole("link", { name: "Next rows" }).click();
    await expect.poll(() => caption.textContent()).toBe("df: rows 40 to 59 (more follow)");
    await shot(page, "04-node-dataframe");

    await page.goto(`${url}${base}/executions/${demo}/nodes/shout`);
    await expect.poll(() => page.locator("pre.logs").textContent()).toContain("shouting: hello from the browser test");
    await shot(page, "05-node-logs");
    await context.close();
  });

  it("reaches the DAG's expanders with Tab and toggles them with Enter", async () => {
    const { context, page } = await signIn(cb.tokens.editor);
    await page.goto(`${url}${base}/executions/${demo}`);
    await page.locator("#dag-h").evaluate((h) => {
      const heading = h as unknown as PageElement;
      heading.setAttribute("tabindex", "-1");
      heading.focus();
    });
    let found = false;
    for (let i = 0; i < 40 && !found; i++) {
      await page.keyboard.press("Tab");
      found = await page.evaluate(() => document.activeElement?.hasAttribute("data-expander") ?? false);
    }
    expect(found, "an expander is reachable with Tab").toBe(true);
    const controls = await page.evaluate(() => document.activeElement!.getAttribute("aria-controls")!);
    const panel = page.locator(`[id="${controls}"]`);
    expect(await panel.isVisible()).toBe(false);
    await page.keyboard.press("Enter");
    expect(await page.evaluate(() => document.activeElement!.getAttribute("aria-expanded"))).toBe("true");
    await expect.poll(() => panel.isVisible()).toBe(true);
    await shot(page, "06-expanded");
    await page.keyboard.press("Enter");
    await expect.poll(() => panel.isVisible()).toBe(false);
    await context.close();
  });

  it("updates a running execution's DAG without reloading the page", async () => {
    const { context, page } = await signIn(cb.tokens.editor);
    const name = await cb.eb.execute({ workflow: "nap_flow" }, { ms: { kind: "int", value: "4000" } });
    await page.goto(`${url}${base}/executions/${name}`);
    await page.evaluate(() => (window.stillHere = true));
    const node = page.locator('g[data-node="doze"]');
    await expect.poll(() => node.getAttribute("class"), { timeout: 20_000 }).toContain("phase-running");
    await shot(page, "07-live-running");

    // Its node page follows the log while the attempt runs.
    const nodePage = await context.newPage();
    await nodePage.goto(`${url}${base}/executions/${name}/nodes/doze`);
    await nodePage.evaluate(() => (window.stillHere = true));
    const logs = nodePage.locator("pre.logs");
    expect(await logs.getAttribute("data-follow-url")).toContain("follow=true");
    await expect.poll(() => logs.textContent(), { timeout: 20_000 }).toContain("woke up");
    expect(await nodePage.evaluate(() => window.stillHere)).toBe(true);
    expect(await logs.textContent()).toContain("dozing off for 4000 ms");
    await shot(nodePage, "07b-live-logs");
    await nodePage.close();

    await expect.poll(() => node.getAttribute("class"), { timeout: 30_000 }).toContain("phase-succeeded");
    await expect.poll(() => page.locator("[data-live-phase]").textContent()).toBe("SUCCEEDED");
    expect(await page.evaluate(() => window.stillHere)).toBe(true);
    await shot(page, "08-live-done");
    await context.close();
  }, 60_000);

  it("promotes a version after showing the diff, and the target domain shows it", async () => {
    const { context, page } = await signIn(cb.tokens.editor);
    await page.goto(`${url}${base}/workflows/console_demo`);
    await page.getByRole("link", { name: "Promote to staging" }).first().click();
    await expect.poll(() => page.locator("h1").textContent()).toContain("to staging?");
    await expect.poll(() => page.locator("main").textContent()).toContain("staging has no version of console_demo yet");
    await shot(page, "09-promote-confirm");
    await page.getByRole("button", { name: "Promote to staging" }).click();
    await page.waitForURL(/\/domains\/staging\/workflows\/console_demo\?/);
    await expect.poll(() => page.getByRole("status").textContent()).toContain("promoted");
    expect(await page.locator("main").textContent()).toContain(cb.version);
    await shot(page, "10-promoted");
    await context.close();
  });

  it("shows a viewer no promote button and refuses a forged promotion", async () => {
    const { context, page } = await signIn(cb.tokens.viewer);
    await page.goto(`${url}${base}/workflows/console_demo`);
    expect(await page.locator("main").textContent()).toContain(cb.version);
    expect(await page.getByText(/Promote to/).count()).toBe(0);
    await shot(page, "11-viewer-workflow");
    const action = `${base}/workflows/console_demo/versions/${encodeURIComponent(cb.version)}/promote`;
    const forged = await page.evaluate(async (action) => {
      const csrf = document.querySelector('input[name="csrf"]')!.value;
      const send = async (body: Record<string, string>) => {
        const res = await fetch(action, { method: "POST", body: new URLSearchParams(body), redirect: "manual" });
        return { status: res.status, text: await res.text() };
      };
      return { withToken: await send({ csrf, to: "production" }), withoutToken: await send({ to: "production" }) };
    }, action);
    expect(forged.withToken.status).toBe(403);
    expect(forged.withToken.text).toContain("needs the editor role");
    expect(forged.withoutToken.status).toBe(403);
    const production = await cb.eb.backend.request(`${base.replace(DOMAIN, "production")}/workflows/console_demo/versions`);
    expect(production.status).toBe(404);
    await context.close();
  });
});
