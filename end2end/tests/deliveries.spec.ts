import { expect, Page, test } from "@playwright/test";
import http from "node:http";
import { AddressInfo } from "node:net";
import { hydrated, signUp, uniqueEmail, watchConsole } from "./helpers";

/** The customer's endpoint: answers 500 while `failing`, else 200, and keeps every body. */
function startSink() {
  const state = { failing: false, bodies: [] as any[] };
  const server = http.createServer((req, res) => {
    let raw = "";
    req.on("data", (c) => (raw += c));
    req.on("end", () => {
      try {
        state.bodies.push(JSON.parse(raw));
      } catch {
        state.bodies.push(raw);
      }
      res.writeHead(state.failing ? 500 : 200, { "content-type": "application/json" });
      res.end(state.failing ? '{"error":"down for maintenance"}' : '{"ok":true}');
    });
  });
  return { state, server };
}

/** Reloads `url` until `check` passes: the relay works in the background. */
async function eventually(page: Page, url: string, check: () => Promise<void>) {
  await expect(async () => {
    await page.goto(url);
    await hydrated(page);
    await check();
  }).toPass({ timeout: 30_000, intervals: [500, 1000, 2000] });
}

test("a message from the sandbox phone is delivered; a failed delivery is retried once the endpoint is back", async ({ page, request }) => {
  const errors = watchConsole(page);
  await page.route("**/favicon.ico", (r) => r.fulfill({ status: 204 }));
  const { state, server } = startSink();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const sinkUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  try {
    // A WhatsApp number of its own, so no other test's channel is in the way.
    const created = await request.post("/sandbox/api/assets", {
      data: { kind: "whatsapp", verified_name: "Deliveries Co" },
    });
    expect(created.status()).toBe(201);
    const phone = (await created.json()).assets.find((a: any) => a.kind === "phone");

    await signUp(page, uniqueEmail("deliveries"), "Deliveries Co");
    await page.goto("/deliveries");
    await hydrated(page);
    await expect(page.getByText("No deliveries yet")).toBeVisible();

    // Connect only that number through Meta's (sandbox) dialog.
    await page.goto("/channels");
    await hydrated(page);
    await page.click("#connect-whatsapp");
    await expect(page).toHaveURL(/\/sandbox\/dialog\/oauth/);
    for (const box of await page.locator("input[name=asset]").all()) {
      if ((await box.getAttribute("value")) !== phone.id) await box.uncheck();
    }
    await page.getByRole("button", { name: "Continue" }).click();
    await expect(page).toHaveURL(/\/channels\/[0-9a-f]{16}$/);
    await hydrated(page);
    const channelId = page.url().split("/").pop()!;
    await page.fill("#webhook-url", sinkUrl);
    await page.check("#event-message-received");
    await page.click("#webhook-save");
    await expect(page.locator("#webhook-form")).toContainText("Webhook settings saved.");

    // The end user writes from the sandbox phone.
    const user = `1555${Date.now() % 10_000_000}`;
    const send = async (text: string) => {
      await page.goto("/sandbox/phone");
      await page.selectOption("#phone-asset", phone.id);
      await page.fill("#phone-user", user);
      await page.getByRole("button", { name: "Open chat" }).click();
      await page.fill("#phone-text", text);
      await page.click("#phone-send");
      await expect(page.locator("#thread li[data-direction='in']").last()).toContainText(text);
    };
    await send("Where is my parcel?");
    const firstRow = page.locator("#deliveries-table tbody tr").first();
    await eventually(page, "/deliveries", async () => {
      await expect(firstRow).toContainText("message.received", { timeout: 1000 });
      await expect(firstRow.locator(".delivery-status")).toHaveText("delivered", { timeout: 1000 });
    });
    const got = state.bodies.find((b) => b?.data?.text === "Where is my parcel?");
    expect(got.event).toBe("message.received");
    expect(got.channel_id).toBe(channelId);
    expect(got.data.from).toBe(user);

    // The endpoint fails: the attempt and its answer are in the log.
    state.failing = true;
    await send("Are you there?");
    await eventually(page, "/deliveries?status=failed", async () => {
      await expect(firstRow.locator(".delivery-status")).toHaveText("failed", { timeout: 1000 });
    });
    await firstRow.locator("a").last().click();
    await expect(page).toHaveURL(/\/deliveries\/[0-9a-f-]{36}$/);
    await hydrated(page);
    await expect(page.locator("#delivery-status")).toHaveText("failed");
    const attempt = page.locator("#attempts li.attempt").first();
    await expect(attempt).toHaveAttribute("data-status-code", "500");
    await attempt.getByText("Response").click();
    await expect(attempt).toContainText("down for maintenance");
    await expect(page.locator("#delivery-payload")).toContainText("Are you there?");

    // Back up: Retry makes a new delivery, which succeeds.
    state.failing = false;
    await page.click("#retry");
    await expect(page.locator("#retry-result")).toContainText("Retry queued");
    await page.click("#retry-new");
    await expect(page).toHaveURL(/\/deliveries\/[0-9a-f-]{36}$/);
    await hydrated(page);
    const retried = page.url();
    await eventually(page, retried, async () => {
      await expect(page.locator("#delivery-status")).toHaveText("delivered", { timeout: 1000 });
    });
    await expect(page.locator("#attempts li.attempt").last()).toHaveAttribute("data-status-code", "200");
    const copies = state.bodies.filter((b) => b?.data?.text === "Are you there?");
    expect(copies.length).toBeGreaterThanOrEqual(2);
    expect(new Set(copies.map((b) => b.event_id)).size).toBe(1);

    // Filters are a plain GET form.
    await page.goto("/deliveries");
    await hydrated(page);
    await page.selectOption("#filter-status", "delivered");
    await page.click("#filter-apply");
    await expect(page).toHaveURL(/status=delivered/);
    await expect(page.locator("#deliveries-table tbody tr").nth(1)).toBeVisible();
    const shown = await page.locator("#deliveries-table tbody tr .delivery-status").allTextContents();
    expect(new Set(shown.map((s) => s.trim()))).toEqual(new Set(["delivered"]));

    // Send test event from the channel settings.
    await page.goto(`/channels/${channelId}`);
    await hydrated(page);
    await page.click("#test-event");
    await expect(page.locator("#test-event-result")).toContainText("Test event sent");
    await page.click("#test-event-delivery");
    await hydrated(page);
    await expect(page.locator("#delivery-payload")).toContainText("Test event from Switchboard");
    expect(errors).toEqual([]);
  } finally {
    server.close();
  }
});
