// Screenshots of a WhatsApp channel's Templates page (list with status badges,
// create form with the live preview) at desktop and phone widths.
// BASE_URL=http://127.0.0.1:3100 node shot-templates.mjs  (server started like scripts/e2e.sh)
import { chromium } from "@playwright/test";

const BASE = process.env.BASE_URL ?? "http://127.0.0.1:3100";
const OUT = process.env.OUT ?? "/tmp/shots";
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
});
const api = async (path, body) => {
  const r = await fetch(`${BASE}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  return r.json();
};
for (const [name, width] of [["desktop", 1280], ["phone", 375]]) {
  const created = await api("/sandbox/api/assets", { kind: "whatsapp", verified_name: `Templates ${name}` });
  const phone = created.assets.find((a) => a.kind === "phone");
  const page = await browser.newPage({ viewport: { width, height: 900 } });
  const errors = [];
  page.on("pageerror", (e) => errors.push(`${page.url()}: ${e.message}`)); page.on("console", (m) => { if (m.type() === "error") errors.push(`${page.url()} console: ${m.text().slice(0, 300)}`); });
  await page.goto(`${BASE}/signup`);
  await page.fill("#f-account_name", "Northwind Bakery Supplies");
  await page.fill("#f-email", `shot-tpl-${name}-${Date.now()}@example.com`);
  await page.fill("#f-password", "correct horse battery");
  await page.click("#signup-submit");
  await page.waitForURL(/\/$/);
  await page.goto(`${BASE}/channels`);
  await page.locator("#portal[data-hydrated='true']").waitFor();
  await page.click("#connect-whatsapp");
  await page.waitForURL(/\/sandbox\/dialog\/oauth/);
  for (const box of await page.locator("input[name=asset]").all()) {
    if ((await box.getAttribute("value")) !== phone.id) await box.uncheck();
  }
  await page.getByRole("button", { name: "Continue" }).click();
  await page.waitForURL(/\/channels\/[0-9a-f]{16}$/);
  await page.locator("#portal[data-hydrated='true']").waitFor();
  const href = await page.locator("#templates-link").getAttribute("href");
  await page.goto(`${BASE}${href}`);
  await page.locator("#portal[data-hydrated='true']").waitFor();
  await page.locator("#template-list").waitFor();

  // One submitted template next to the seeded hello_world, then a second one typed in.
  await page.fill("#template-name", "order_update");
  await page.fill("#template-header", "Your order");
  await page.fill("#template-body", "Hi {{1}}, order {{2}} is on its way. Track it in the app.");
  await page.fill("#template-examples", "Ana\n#42");
  await page.fill("#template-footer", "Reply STOP to opt out");
  await page.click("#template-create");
  await page.locator("#template-result").getByText("Template submitted").waitFor();
  await page.locator("#template-list li[data-template='order_update']").waitFor();
  await page.selectOption("#template-format", "named");
  await page.fill("#template-name", "welcome_named");
  await page.fill("#template-header", "");
  await page.fill("#template-body", "Welcome {{first_name}}! Your code is {{code}}.");
  await page.fill("#template-examples", "Ana");
  await page.fill("#template-footer", "");
  await page.screenshot({ path: `${OUT}/templates-${name}.png`, fullPage: true });
  // The Send test message box on the channel page offers the approved templates.
  await page.goto(`${BASE}${href.replace(/\/templates$/, "")}`);
  await page.locator("#portal[data-hydrated='true']").waitFor();
  await page.locator("#send-template-form").waitFor();
  await page.fill("#register-pin", "123456");
  await page.click("#register-submit");
  await page.locator("#register-result").getByText("Registered").waitFor();
  await page.fill("#send-template-recipient", "15550100777");
  await page.selectOption("#send-template-name", "hello_world|en_US");
  await page.click("#send-template");
  await page.locator("#send-template-result").getByText("Template sent").waitFor();
  await page.locator("#send-template-box").screenshot({ path: `${OUT}/send-template-${name}.png` });
  console.log(name, "page errors:", errors);
  await page.close();
}
await browser.close();
