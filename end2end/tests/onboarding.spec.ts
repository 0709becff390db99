import { expect, Page, test } from "@playwright/test";
import { hydrated, signUp, uniqueEmail, watchConsole } from "./helpers";

const WELCOME = "https://shop.example.com/welcome";

/** The customer's own site is not reachable from the test machine: answer for it. */
async function fakeCustomerSite(page: Page) {
  await page.route("https://shop.example.com/**", (r) =>
    r.fulfill({ status: 200, contentType: "text/html", body: "<!doctype html><title>Shop</title><h1>Welcome back</h1>" }),
  );
  // The sandbox's dialog page has no icon; Chromium would log its 404 as a console error.
  await page.route("**/favicon.ico", (r) => r.fulfill({ status: 204 }));
}

test("a customer creates a link; their end user connects WhatsApp through it without logging in", async ({ page, browser, request }) => {
  const errors = watchConsole(page);
  // A WhatsApp Business account of its own with two numbers, so no other
  // test's channel is in the way and the picker has a choice to offer.
  const created = await request.post("/sandbox/api/assets", {
    data: { kind: "whatsapp", name: "Corner Bakery WABA", verified_name: "Corner Bakery" },
  });
  expect(created.status()).toBe(201);
  const assets = (await created.json()).assets;
  const waba = assets.find((a: any) => a.kind === "waba");
  const second = await request.post("/sandbox/api/assets", {
    data: { kind: "whatsapp", waba_id: waba.id, verified_name: "Corner Bakery" },
  });
  expect(second.status()).toBe(201);
  const phoneIds = [
    assets.find((a: any) => a.kind === "phone").id,
    (await second.json()).assets.find((a: any) => a.kind === "phone").id,
  ];
  await signUp(page, uniqueEmail("onboarding"), "Bakery Supplies");

  // The redirect URL must fit one of the account's redirect URIs.
  await page.goto("/redirects");
  await hydrated(page);
  await page.fill("#redirect-pattern", WELCOME);
  await page.click("#add-redirect");
  await expect(page.locator(`#redirect-list li[data-pattern='${WELCOME}']`)).toBeVisible();

  await page.goto("/onboarding");
  await hydrated(page);
  await expect(page.getByText("No onboarding links yet")).toBeVisible();
  await page.fill("#link-name", "Corner Bakery");
  await page.fill("#link-external-id", "cus_77");
  await page.selectOption("#link-channel-type", "whatsapp");
  await page.fill("#link-redirect", WELCOME);
  await page.fill("#link-webhook-url", "http://127.0.0.1:9/hook");
  await page.check("#link-event-message-received");
  await page.click("#link-create");
  await expect(page.locator("#link-created")).toBeVisible();
  const hostedUrl = await page.locator("#created-hosted-url").inputValue();
  expect(hostedUrl).toMatch(/\/signup\/[0-9a-f-]{36}$/);
  const linkId = hostedUrl.split("/").pop()!;
  // The generated secret is shown once.
  expect(await page.locator("#created-secret").inputValue()).toMatch(/^[0-9a-f]{64}$/);
  const row = page.locator(`#links-list li[data-link-id='${linkId}']`);
  await expect(row).toHaveAttribute("data-status", "pending");
  await expect(row.locator(".link-status")).toHaveText("pending");
  await row.getByText("QR code").click();
  await expect(row.locator("img[src$='/qr.svg']")).toBeVisible();

  // The end user: a fresh browser, no session.
  const visitor = await browser.newContext();
  const end = await visitor.newPage();
  const endErrors = watchConsole(end);
  await fakeCustomerSite(end);
  await end.goto(hostedUrl);
  await expect(end.locator("#account-name")).toHaveText("Bakery Supplies");
  await expect(end.locator("#link-name")).toHaveText("Corner Bakery");
  await expect(end.getByText("relayed to Bakery Supplies")).toBeVisible();
  await end.click("#continue");
  await expect(end).toHaveURL(/\/sandbox\/dialog\/oauth/);
  for (const box of await end.locator("input[name=asset]").all()) {
    const value = await box.getAttribute("value");
    if (value !== waba.id && !phoneIds.includes(value!)) await box.uncheck();
  }
  await end.getByRole("button", { name: "Continue" }).click();
  // Two numbers were shared: the picker asks for one (the first is preselected).
  await expect(end.getByRole("button", { name: "Connect" })).toBeVisible();
  await end.getByRole("button", { name: "Connect" }).click();
  await expect(end).toHaveURL(/^https:\/\/shop\.example\.com\/welcome\?/);
  const back = new URL(end.url());
  expect(back.searchParams.get("onboarding_link_id")).toBe(linkId);
  expect(back.searchParams.get("external_id")).toBe("cus_77");
  expect(back.searchParams.get("status")).toBe("success");
  await expect(end.getByRole("heading", { name: "Welcome back" })).toBeVisible();

  // Opening the link again says it is used up.
  await end.goto(hostedUrl);
  await expect(end.locator("#link-state")).toContainText("already completed");
  await expect(end.locator("#continue")).toHaveCount(0);
  expect(endErrors).toEqual([]);
  await visitor.close();

  // The customer sees it completed, with the number.
  await page.reload();
  await hydrated(page);
  await expect(row).toHaveAttribute("data-status", "completed");
  await expect(row.locator(".link-status")).toHaveText("completed");
  await expect(row).toContainText("Connected: +1555");
  await expect(row.getByRole("button", { name: /^Delete / })).toHaveCount(0);
  expect(errors).toEqual([]);
});

test("a pending link can be deleted after a confirmation; bad input shows the API's detail", async ({ page }) => {
  const errors = watchConsole(page);
  await signUp(page, uniqueEmail("onboarding-del"), "Delete Co");
  await page.goto("/onboarding");
  await hydrated(page);

  // A redirect URL that fits no redirect URI is refused inline.
  await page.fill("#link-name", "Refused");
  await page.fill("#link-redirect", "https://elsewhere.example.com/cb");
  await page.click("#link-create");
  await expect(page.locator("#link-result .error-text")).toContainText("matches none of the account's redirect URIs");
  const refused = errors.findIndex((e) => e.includes("status of 400"));
  expect(refused).toBeGreaterThanOrEqual(0);
  errors.splice(refused, 1);

  await page.fill("#link-redirect", "");
  await page.fill("#link-name", "Short-lived");
  await page.click("#link-create");
  await expect(page.locator("#link-created")).toBeVisible();
  // No webhook URL, no secret.
  await expect(page.locator("#created-secret")).toHaveCount(0);
  const row = page.locator("#links-list li[data-status='pending']");
  await expect(row).toHaveCount(1);
  await row.getByRole("button", { name: "Delete Short-lived" }).click();
  await row.getByRole("button", { name: "Yes, delete" }).click();
  await expect(page.getByText("No onboarding links yet")).toBeVisible();
  expect(errors).toEqual([]);
});
