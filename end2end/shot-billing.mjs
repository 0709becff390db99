// Screenshots of the Billing page and the sandbox checkout at desktop and phone widths.
// BASE_URL=http://127.0.0.1:3100 node shot-billing.mjs  (server started like scripts/e2e.sh)
import { chromium } from "@playwright/test";

const BASE = process.env.BASE_URL ?? "http://127.0.0.1:3100";
const OUT = process.env.OUT ?? "/tmp/shots";
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
});
for (const [name, width] of [["desktop", 1280], ["phone", 375]]) {
  const page = await browser.newPage({ viewport: { width, height: 900 } });
  await page.goto(`${BASE}/signup`);
  await page.fill("#f-account_name", "Shot Co");
  await page.fill("#f-email", `shot-${name}-${Date.now()}@example.com`);
  await page.fill("#f-password", "correct horse battery");
  await page.click("#signup-submit");
  await page.waitForURL(/\/$/);
  await page.goto(`${BASE}/billing`);
  await page.locator("#portal[data-hydrated='true']").waitFor();
  await page.screenshot({ path: `${OUT}/billing-trial-${name}.png`, fullPage: true });
  await page.selectOption("#subscribe-tier", "pro");
  await page.fill("#subscribe-quantity", "2");
  await page.click("#subscribe");
  await page.waitForURL(/checkout/);
  await page.screenshot({ path: `${OUT}/checkout-${name}.png`, fullPage: true });
  await page.click("#decline");
  await page.screenshot({ path: `${OUT}/checkout-declined-${name}.png`, fullPage: true });
  await page.click("#pay");
  await page.waitForURL(/checkout=success/);
  await page.locator("#portal[data-hydrated='true']").waitFor();
  await page.screenshot({ path: `${OUT}/billing-paid-${name}.png`, fullPage: true });
  await page.click("#open-portal");
  await page.waitForURL(/sandbox\/portal/);
  await page.screenshot({ path: `${OUT}/portal-${name}.png`, fullPage: true });
  await page.close();
}
await browser.close();
