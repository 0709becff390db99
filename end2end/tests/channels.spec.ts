import { expect, Page, test } from "@playwright/test";
import { hydrated, signUp, uniqueEmail, watchConsole } from "./helpers";

/** The sandbox's dialog page has no icon; Chromium would log its 404 as a console error. */
async function quietFavicon(page: Page) {
  await page.route("**/favicon.ico", (r) => r.fulfill({ status: 204 }));
}

/** From the Channels page through the sandbox's Meta dialog (and picker) back to the channel's settings. */
async function connectThroughDialog(page: Page, start: () => Promise<void>) {
  await start();
  await expect(page).toHaveURL(/\/sandbox\/dialog\/oauth/);
  await page.getByRole("button", { name: "Continue" }).click();
  // Two numbers were shared: the picker asks for one (the first is preselected).
  await page.waitForURL(/\/setup\/callback|\/channels\/[0-9a-f]{16}$/);
  if (/\/setup\/callback/.test(page.url())) {
    await page.getByRole("button", { name: "Connect" }).click();
  }
  await expect(page).toHaveURL(/\/channels\/[0-9a-f]{16}$/);
  await hydrated(page);
}

test("connect WhatsApp in the Portal, set webhook and secret, deactivate and reconnect", async ({ page }) => {
  const errors = watchConsole(page);
  await quietFavicon(page);
  await signUp(page, uniqueEmail("channels"), "Channels Co");

  await page.goto("/channels");
  await hydrated(page);
  await expect(page.getByText("No channels yet")).toBeVisible();

  await connectThroughDialog(page, () => page.click("#connect-whatsapp"));
  const channelUrl = page.url();
  const id = channelUrl.split("/").pop()!;
  await expect(page.locator("#channel-status")).toContainText("active");
  await expect(page.locator("#secret-status")).toHaveText("secret not set");
  // Only WhatsApp's events are offered.
  await expect(page.locator("#event-message-sent")).toBeVisible();
  await expect(page.locator("input[name='events[]']")).toHaveCount(6);

  // Saving a URL does not create a secret (the Portal rule).
  await page.fill("#webhook-url", "http://127.0.0.1:9/hook");
  await page.check("#event-message-received");
  await page.click("#webhook-save");
  await expect(page.locator("#webhook-form")).toContainText("Webhook settings saved.");
  await page.reload();
  await hydrated(page);
  await expect(page.locator("#webhook-url")).toHaveValue("http://127.0.0.1:9/hook");
  await expect(page.locator("#event-message-received")).toBeChecked();
  await expect(page.locator("#event-message-sent")).not.toBeChecked();
  await expect(page.locator("#secret-status")).toHaveText("secret not set");

  // A custom secret shorter than 16 characters is refused inline.
  await page.fill("#custom-secret", "too-short");
  await page.click("#secret-save");
  await expect(page.locator("#custom-secret-result .error-text")).toContainText("must be 16 to 64 characters");
  await expect(page.locator("#secret-status")).toHaveText("secret not set");
  const refused = errors.findIndex((e) => e.includes("status of 400"));
  expect(refused).toBeGreaterThanOrEqual(0);
  errors.splice(refused, 1);

  // Generate random: 64 hex, shown once.
  await page.click("#secret-generate");
  const secret = await page.locator("#secret-value").inputValue();
  expect(secret).toMatch(/^[0-9a-f]{64}$/);
  await expect(page.locator("#secret-status")).toHaveText("secret set");
  await page.reload();
  await hydrated(page);
  await expect(page.locator("#secret-value")).toHaveCount(0);
  await expect(page.locator("#secret-status")).toHaveText("secret set");
  expect(await page.content()).not.toContain(secret);

  // The list shows the channel.
  await page.goto("/channels");
  await hydrated(page);
  const row = page.locator(`#channels-table tr[data-channel-id='${id}']`);
  await expect(row).toContainText("WhatsApp");
  await expect(row.locator(".channel-status")).toHaveText("active");

  // Deactivate behind a confirmation.
  await page.goto(channelUrl);
  await hydrated(page);
  await page.getByRole("button", { name: /^Deactivate / }).click();
  await page.click("#deactivate-confirm");
  await expect(page.locator("#channel-status")).toContainText("inactive");
  await expect(page.locator("#connect-whatsapp")).toHaveText("Reconnect");

  // Reconnect: the same channel comes back, active, with its settings.
  await connectThroughDialog(page, () => page.click("#connect-whatsapp"));
  expect(page.url()).toBe(channelUrl);
  await expect(page.locator("#channel-status")).not.toContainText("inactive");
  await expect(page.locator("#channel-status")).toContainText("active");
  await expect(page.locator("#webhook-url")).toHaveValue("http://127.0.0.1:9/hook");
  await expect(page.locator("#secret-status")).toHaveText("secret set");
  await expect(page.locator("#health-checks li[data-check='active']")).toHaveAttribute("data-ok", "true");

  await page.goto("/channels");
  await hydrated(page);
  await expect(page.locator("#channels-table tbody tr")).toHaveCount(1);
  expect(errors).toEqual([]);
});

test("cancelling Meta's dialog says nothing was connected", async ({ page }) => {
  const errors = watchConsole(page);
  await quietFavicon(page);
  await signUp(page, uniqueEmail("cancel"), "Cancel Co");
  await page.goto("/channels");
  await hydrated(page);
  await page.click("#connect-facebook");
  await expect(page).toHaveURL(/\/sandbox\/dialog\/oauth/);
  await page.getByRole("button", { name: "Cancel" }).click();
  await expect(page).toHaveURL(/\/channels\/connected\?error=access_denied/);
  await expect(page.locator("#connect-result")).toContainText("nothing was connected");
  await hydrated(page);
  expect(errors).toEqual([]);
});

test("a Facebook Page offers only the events Messenger has", async ({ page }) => {
  const errors = watchConsole(page);
  await quietFavicon(page);
  await signUp(page, uniqueEmail("facebook"), "Pages Co");
  await page.goto("/channels");
  await hydrated(page);
  await connectThroughDialog(page, () => page.click("#connect-facebook"));
  await expect(page.locator("#channel-status")).toContainText("active");
  await expect(page.locator("input[name='events[]']")).toHaveCount(5);
  await expect(page.locator("#event-message-sent")).toHaveCount(0);
  await expect(page.locator("#secret-status")).toHaveText("secret not set");
  await page.goto("/channels");
  await hydrated(page);
  await expect(page.locator("#channels-table tr[data-channel-type='facebook']")).toContainText("Facebook Messenger · Page");
  expect(errors).toEqual([]);
});
