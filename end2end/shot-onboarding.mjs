// Screenshots of the Onboarding links page and the hosted sign-up page at desktop and phone widths.
// BASE_URL=http://127.0.0.1:3100 node shot-onboarding.mjs  (server started like scripts/e2e.sh)
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
  await page.fill("#f-account_name", "Northwind Bakery Supplies");
  await page.fill("#f-email", `shot-onb-${name}-${Date.now()}@example.com`);
  await page.fill("#f-password", "correct horse battery");
  await page.click("#signup-submit");
  await page.waitForURL(/\/$/);
  await page.goto(`${BASE}/onboarding`);
  await page.locator("#portal[data-hydrated='true']").waitFor();
  await page.screenshot({ path: `${OUT}/onboarding-empty-${name}.png`, fullPage: true });

  // A logo drawn in the page, uploaded through the plain form.
  const png = await page.evaluate(() => {
    const c = document.createElement("canvas");
    c.width = c.height = 96;
    const g = c.getContext("2d");
    g.fillStyle = "#f59e0b";
    g.beginPath();
    g.arc(48, 48, 44, 0, Math.PI * 2);
    g.fill();
    g.fillStyle = "#fff";
    g.font = "bold 48px sans-serif";
    g.textAlign = "center";
    g.textBaseline = "middle";
    g.fillText("N", 48, 52);
    return c.toDataURL("image/png").split(",")[1];
  });
  await page.setInputFiles("#logo-file", { name: "logo.png", mimeType: "image/png", buffer: Buffer.from(png, "base64") });
  await page.click("#logo-upload");
  await page.waitForURL(/logo=saved/);
  await page.locator("#portal[data-hydrated='true']").waitFor();

  await page.fill("#link-name", "Corner Bakery — Main Street");
  await page.fill("#link-external-id", "cus_7781");
  await page.fill("#link-webhook-url", "http://127.0.0.1:9/hook");
  await page.check("#link-event-message-received");
  await page.click("#link-create");
  await page.locator("#link-created").waitFor();
  const hosted = await page.locator("#created-hosted-url").inputValue();
  await page.fill("#link-name", "Harbor Café");
  await page.selectOption("#link-channel-type", "instagram");
  await page.fill("#link-webhook-url", "");
  await page.uncheck("#link-event-message-received");
  await page.click("#link-create");
  await page.locator("#links-list li").nth(1).waitFor();
  await page.locator("#links-list details.qr summary").first().click();
  await page.screenshot({ path: `${OUT}/onboarding-list-${name}.png`, fullPage: true });

  const visitor = await browser.newContext({ viewport: { width, height: 900 } });
  const end = await visitor.newPage();
  await end.goto(hosted);
  await end.screenshot({ path: `${OUT}/signup-open-${name}.png`, fullPage: true });
  await end.click("#continue");
  await end.waitForURL(/dialog\/oauth/);
  await end.getByRole("button", { name: "Cancel" }).click();
  await end.locator("#link-state").waitFor();
  await end.screenshot({ path: `${OUT}/signup-failed-${name}.png`, fullPage: true });
  await end.click("#continue");
  await end.waitForURL(/dialog\/oauth/);
  await end.getByRole("button", { name: "Continue" }).click();
  // Each run's account takes its own number (one asset, one account).
  await end.locator("input[name=asset]").nth(name === "phone" ? 1 : 0).check();
  await end.getByRole("button", { name: "Connect" }).click();
  await end.waitForURL(/\/signup\//);
  await end.screenshot({ path: `${OUT}/signup-done-${name}.png`, fullPage: true });
  await visitor.close();

  await page.reload();
  await page.locator("#portal[data-hydrated='true']").waitFor();
  await page.screenshot({ path: `${OUT}/onboarding-completed-${name}.png`, fullPage: true });
  await page.close();
}
await browser.close();
