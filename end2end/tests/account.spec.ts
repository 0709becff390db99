import { expect, test } from "@playwright/test";
import { PASSWORD, hydrated, signUp, uniqueEmail, watchConsole } from "./helpers";

test("sign up, confirm by mailbox, create a key, use it, revoke it", async ({ page, request }) => {
  const errors = watchConsole(page);
  const email = uniqueEmail("owner");
  await signUp(page, email);
  await expect(page.locator("#account-name")).toHaveText("Playwright Co");
  await expect(page.locator("#verify-banner")).toBeVisible();

  // The verification mail is in the sandbox Mailbox.
  await page.goto("/mailbox");
  const mail = page.locator(".mail", { hasText: "Confirm your email" }).first();
  await mail.locator("summary").click();
  const link = await mail.locator(".mail-body a").first().getAttribute("href");
  expect(link).toContain("/verify-email?token=");
  await page.goto(link!);
  await expect(page.locator("#verify-result")).toContainText("is confirmed");
  await page.goto("/");
  await hydrated(page);
  await expect(page.locator("#verify-banner")).toHaveCount(0);

  // Create a key: shown once.
  await page.goto("/keys");
  await hydrated(page);
  await page.fill("#key-name", "e2e key");
  await page.click("#create-key");
  const secret = await page.locator("#new-key-value").inputValue();
  expect(secret).toMatch(/^sb_test_[A-Za-z0-9]{32}$/);
  const row = page.locator("#keys-table tr[data-key-name='e2e key']");
  await expect(row).toContainText(`sb_test_…${secret.slice(-4)}`);

  // The key works against the REST API.
  const ok = await request.get("/api/v1/account", { headers: { "X-API-Key": secret } });
  expect(ok.status()).toBe(200);
  expect((await ok.json()).name).toBe("Playwright Co");

  // Reloading never shows the key again.
  await page.reload();
  await hydrated(page);
  await expect(page.locator("#new-key-value")).toHaveCount(0);
  expect(await page.content()).not.toContain(secret);

  // Revoke: the next call gets 401.
  await row.getByRole("button", { name: "Revoke e2e key" }).click();
  await row.getByRole("button", { name: "Yes, revoke" }).click();
  await expect(row).toContainText("revoked");
  const denied = await request.get("/api/v1/account", { headers: { "X-API-Key": secret } });
  expect(denied.status()).toBe(401);
  expect((await denied.json()).code).toBe("invalid_api_key");

  expect(errors).toEqual([]);
});

test("log out, wrong password, log back in", async ({ page }) => {
  const errors = watchConsole(page);
  const email = uniqueEmail("relogin");
  await signUp(page, email, "Relogin Ltd");
  await page.click("#logout");
  await expect(page).toHaveURL(/\/login$/);

  await page.fill("#f-email", email);
  await page.fill("#f-password", "definitely not it");
  await page.click("#login-submit");
  await expect(page.locator("#login-form")).toContainText("email or password is incorrect");

  // The refused log-in is a 401, which Chromium reports on the console; nothing else may be.
  const refused = errors.findIndex((e) => e.includes("status of 401"));
  expect(refused).toBeGreaterThanOrEqual(0);
  errors.splice(refused, 1);

  await page.fill("#f-password", PASSWORD);
  await page.click("#login-submit");
  await expect(page).toHaveURL(/\/$/);
  await hydrated(page);
  await expect(page.locator("#account-name")).toHaveText("Relogin Ltd");

  // Signed-out visitors are sent to the log-in page.
  await page.click("#logout");
  await expect(page).toHaveURL(/\/login$/);
  await page.goto("/keys");
  await expect(page).toHaveURL(/\/login$/);
  expect(errors).toEqual([]);
});
