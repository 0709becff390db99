import { expect, test } from "@playwright/test";
import { hydrated, signUp, uniqueEmail, watchConsole } from "./helpers";

const APP_ID = process.env.SANDBOX_APP_ID ?? "900000000000042";
const BASE = process.env.BASE_URL ?? "http://127.0.0.1:3100";
// The sandbox app's one valid redirect URI is this installation's own
// callback; the browser is stopped there instead of running the callback.
const LANDING = `${BASE}/setup/callback`;

async function openDialog(page, params: Record<string, string>, redirectUri = LANDING) {
  // Capture the redirect instead of loading the landing page.
  await page.route((url: URL) => url.pathname === "/setup/callback", (r) => r.fulfill({ status: 200, body: "landed" }));
  const q = new URLSearchParams({ client_id: APP_ID, redirect_uri: redirectUri, response_type: "code", ...params });
  await page.goto(`/sandbox/dialog/oauth?${q}`);
}

test("sandbox dialog: Continue returns a code and the state", async ({ page }) => {
  await openDialog(page, { state: "st-123", scope: "pages_show_list,pages_messaging,pages_manage_metadata" });
  await expect(page.getByText("Sandbox Business").first()).toBeVisible();
  await expect(page.locator("input[name=asset]").first()).toBeChecked();
  await page.getByRole("button", { name: "Continue" }).click();
  await expect(page).toHaveURL(/\/setup\/callback\?/);
  const url = new URL(page.url());
  expect(url.searchParams.get("code")).toBeTruthy();
  expect(url.searchParams.get("state")).toBe("st-123");
  expect(url.searchParams.get("error")).toBeNull();
});

test("sandbox dialog: Cancel returns access_denied like Meta", async ({ page }) => {
  await openDialog(page, { state: "st-456", config_id: "800000000000001" });
  await expect(page.getByText("WhatsApp").first()).toBeVisible();
  await page.getByRole("button", { name: "Cancel" }).click();
  await expect(page).toHaveURL(/\/setup\/callback\?/);
  const url = new URL(page.url());
  expect(url.searchParams.get("error")).toBe("access_denied");
  expect(url.searchParams.get("error_reason")).toBe("user_denied");
  expect(url.searchParams.get("error_description")).toBeTruthy();
  expect(url.searchParams.get("state")).toBe("st-456");
  expect(url.searchParams.get("code")).toBeNull();
});

test("sandbox dialog: a redirect_uri this installation did not issue gets an error page", async ({ page }) => {
  await page.route("https://elsewhere.example/**", (r) => r.fulfill({ status: 200, body: "should not land" }));
  await openDialog(page, { state: "st-789" }, "https://elsewhere.example/cb");
  await expect(page.getByText("URL blocked")).toBeVisible();
  await expect(page.getByRole("button", { name: "Continue" })).toHaveCount(0);
});

test("sandbox phone: write as an end user and see the business's messages live", async ({ page, request }) => {
  const errors = watchConsole(page);
  await signUp(page, uniqueEmail("phone"), "Phone Demo");
  await page.goto("/sandbox");
  await hydrated(page);
  await page.click("#open-phone");
  await expect(page).toHaveURL(/\/sandbox\/phone/);

  const user = `1555${Date.now() % 10_000_000}`;
  await page.fill("#phone-user", user);
  await page.getByRole("button", { name: "Open chat" }).click();
  await page.fill("#phone-text", "Hi, is my order on its way?");
  await page.click("#phone-send");
  const mine = page.locator("#thread li[data-direction='in']");
  await expect(mine.last()).toContainText("Hi, is my order on its way?");

  // The message is in the sandbox's record of what the user sent.
  const assetId = await page.locator("#thread").getAttribute("data-asset");
  const thread = await (await request.get(`/sandbox/phone/thread?asset_id=${assetId}&user=${user}`)).json();
  expect(thread.messages.map((m) => m.summary)).toContain("Hi, is my order on its way?");

  // Other types come from the menu.
  await page.selectOption("#phone-type", "location");
  await page.fill("#phone-text", "Pick-up point");
  await page.click("#phone-send");
  await expect(mine.last()).toContainText("Pick-up point");

  // A message from the business side appears without reloading, with its status.
  const res = await request.post("/sandbox/api/inbound", {
    data: { asset_id: assetId, from: user, type: "echo", text: "Yes, it ships today." },
  });
  expect(res.status()).toBe(200);
  const theirs = page.locator("#thread li[data-direction='out']");
  await expect(theirs.last()).toContainText("Yes, it ships today.");
  await expect(theirs.last().locator(".msg-status")).not.toBeEmpty();
  expect(errors).toEqual([]);
});
