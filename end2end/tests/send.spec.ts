import { expect, test } from "@playwright/test";
import { hydrated, signUp, uniqueEmail, watchConsole } from "./helpers";

test("send a test message from the Portal: it reaches the sandbox phone and shows delivered", async ({ page, request }) => {
  const errors = watchConsole(page);
  await page.route("**/favicon.ico", (r) => r.fulfill({ status: 204 }));

  // A WhatsApp number of its own, so no other test's channel is in the way.
  const created = await request.post("/sandbox/api/assets", {
    data: { kind: "whatsapp", verified_name: "Send Co" },
  });
  expect(created.status()).toBe(201);
  const phone = (await created.json()).assets.find((a: any) => a.kind === "phone");

  await signUp(page, uniqueEmail("send"), "Send Co");
  await page.goto("/channels");
  await hydrated(page);
  await page.click("#connect-whatsapp");
  await expect(page).toHaveURL(/\/sandbox\/dialog\/oauth/);
  for (const box of await page.locator("input[name=asset]").all()) {
    if ((await box.getAttribute("value")) !== phone.id) await box.uncheck();
  }
  await page.getByRole("button", { name: "Continue" }).click();
  await expect(page).toHaveURL(/\/channels\/[0-9a-f]{16}$/);
  const channelUrl = page.url();
    await hydrated(page);

  // Switchboard registered the number while connecting (Embedded Signup v4):
  // the channel page shows its two-step PIN once, and the number can send.
  await expect(page.locator("#two-step-pin-value")).toHaveText(/^[0-9]{6}$/);
  await page.click("#health-recheck");
  await expect(page.locator("#health-checks li[data-check='phone_registered']")).toHaveAttribute("data-ok", "true");
  // Shown once: a reload no longer has it.
  await page.reload();
  await hydrated(page);
  await expect(page.locator("#two-step-pin-value")).toHaveCount(0);

  // Nobody wrote yet: the 24-hour window is closed, the API's detail says so.
  const user = `1555${Date.now() % 10_000_000}`;
  await page.fill("#send-test-recipient", user);
  await page.fill("#send-test-text", "Too early");
  await page.click("#send-test");
  await expect(page.locator("#send-test-result .error-text")).toContainText("send-template");
  const refused = errors.findIndex((e) => e.includes("status of 400"));
  expect(refused).toBeGreaterThanOrEqual(0);
  errors.splice(refused, 1);

  // The end user writes first, from the sandbox phone.
  await page.goto(`/sandbox/phone?asset_id=${phone.id}&user=${user}`);
  await page.fill("#phone-text", "Hi, is my order on its way?");
  await page.click("#phone-send");
  await expect(page.locator("#thread li[data-direction='in']").last()).toContainText("Hi, is my order on its way?");

  // The business answers from the Portal.
  await page.goto(channelUrl);
  await hydrated(page);
  await page.fill("#send-test-recipient", user);
  await page.fill("#send-test-text", "Yes, it ships today.");
  await page.click("#send-test");
  await expect(page.locator("#send-test-message-id")).toHaveText(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-/);
  // Sent at once, then delivered as the (sandbox) phone reports it.
  await expect(page.locator("#send-test-status")).toHaveAttribute("data-status", "delivered", { timeout: 15_000 });
  await expect(page.locator("#send-test-status")).toHaveText("delivered");
  const messageId = await page.locator("#send-test-message-id").textContent();

  // The phone shows it.
  await page.goto(`/sandbox/phone?asset_id=${phone.id}&user=${user}`);
  const theirs = page.locator("#thread li[data-direction='out']");
  await expect(theirs.last()).toContainText("Yes, it ships today.");

  // Read on the phone side → the Portal box follows.
  const outbox = await (await request.get(`/sandbox/api/outbox?asset_id=${phone.id}&to=${user}`)).json();
  expect(outbox.messages).toHaveLength(1);
  const read = await request.post("/sandbox/api/status", {
    data: { meta_message_id: outbox.messages[0].meta_message_id, status: "read" },
  });
  expect(read.status()).toBe(200);
  await page.goto(channelUrl);
  await hydrated(page);
  await page.fill("#send-test-recipient", user);
  await page.fill("#send-test-text", "One more thing");
  await page.click("#send-test");
  await expect(page.locator("#send-test-status")).toHaveAttribute("data-status", /sent|delivered/);
  expect(await page.locator("#send-test-message-id").textContent()).not.toBe(messageId);
  expect(errors).toEqual([]);
});
