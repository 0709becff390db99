import { expect, test } from "@playwright/test";
import { hydrated, signUp, uniqueEmail, watchConsole } from "./helpers";

test("billing: trial shown, sandbox checkout declines then pays, licenses and invoice listed", async ({ page }) => {
  const errors = watchConsole(page);
  await signUp(page, uniqueEmail("billing"), "Billing Co");
  await page.goto("/billing");
  await hydrated(page);

  await expect(page.locator("#trial-line")).toContainText("7 days left");
  await expect(page.locator("#usage li[data-tier='pro'] .usage-count")).toHaveText("0 of 1 in use");
  await expect(page.locator("#license-list li[data-status='active']")).toContainText("Trial");
  await expect(page.getByText("No invoices yet")).toBeVisible();

  // Subscribe: three starter licenses through the sandbox checkout.
  await page.selectOption("#subscribe-tier", "starter");
  await page.fill("#subscribe-quantity", "3");
  await page.click("#subscribe");
  await expect(page).toHaveURL(/\/billing\/sandbox\/checkout\/sbcs_/);
  await expect(page.locator("input[name='tier'][value='starter']")).toBeChecked();
  await expect(page.locator("#quantity")).toHaveValue("3");

  await page.click("#decline");
  await expect(page.locator("#checkout-error")).toContainText("Payment declined");
  await expect(page.locator("#checkout-error")).toContainText("No license was created");
  // The declined page answers 402, which the browser logs.
  const declined = errors.findIndex((e) => e.includes("status of 402"));
  expect(declined).toBeGreaterThanOrEqual(0);
  errors.splice(declined, 1);

  await page.click("#pay");
  await expect(page).toHaveURL(/\/billing\?checkout=success$/);
  await hydrated(page);
  await expect(page.locator("#checkout-success")).toBeVisible();

  const paid = page.locator("#license-list li[data-tier='starter'][data-status='active']");
  await expect(paid).toContainText("Starter × 3 · Subscription");
  await expect(paid).toContainText("renews");
  await expect(page.locator("#usage li[data-tier='starter'] .usage-count")).toHaveText("0 of 3 in use");
  // The purchase replaced the trial.
  await expect(page.locator("#trial-line")).toContainText("replaced");
  await expect(page.locator("#invoice-list")).toContainText("USD 57.00");
  await expect(page.locator("#billing-status")).toContainText("active");

  // Change the quantity and cancel at the end of the period.
  await paid.locator("input[name='quantity']").fill("2");
  await paid.getByRole("button", { name: "Update" }).click();
  await expect(page.getByText("The number of licenses was changed.")).toBeVisible();
  await expect(paid).toContainText("Starter × 2");
  await paid.getByRole("button", { name: /Cancel L\d+ at period end/ }).click();
  await paid.getByRole("button", { name: "Yes, cancel" }).click();
  await expect(paid).toContainText("ends");
  await expect(paid.getByRole("button", { name: "Keep renewing" })).toBeVisible();
  expect(errors).toEqual([]);
});
