import { expect, test } from "@playwright/test";
import { hydrated, signUp, uniqueEmail, watchConsole } from "./helpers";

test("redirect URIs: refuse a bad pattern, add a wildcard, remove it", async ({ page }) => {
  const errors = watchConsole(page);
  await signUp(page, uniqueEmail("redirects"), "Redirect Co");
  await page.goto("/redirects");
  await hydrated(page);

  await page.fill("#redirect-pattern", "http://app.example.com/cb");
  await page.click("#add-redirect");
  await expect(page.getByText("uri_pattern must use https")).toBeVisible();
  const refused = errors.findIndex((e) => e.includes("status of 400"));
  expect(refused).toBeGreaterThanOrEqual(0);
  errors.splice(refused, 1);

  await page.fill("#redirect-pattern", "https://*.example.com/meta/callback");
  await page.click("#add-redirect");
  const row = page.locator("#redirect-list li[data-pattern='https://*.example.com/meta/callback']");
  await expect(row).toBeVisible();

  await row.getByRole("button", { name: "Remove https://*.example.com/meta/callback" }).click();
  await row.getByRole("button", { name: "Yes, remove" }).click();
  await expect(page.getByText("No redirect URIs yet")).toBeVisible();
  expect(errors).toEqual([]);
});
