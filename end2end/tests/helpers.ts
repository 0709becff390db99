import { expect, Page } from "@playwright/test";

/** Fails the test on any console error or uncaught page error (hydration problems show up here). */
export function watchConsole(page: Page): string[] {
  const errors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  page.on("pageerror", (e) => errors.push(e.message));
  return errors;
}

/** Waits until the Portal's WebAssembly has taken over the server-rendered page. */
export async function hydrated(page: Page) {
  await expect(page.locator("#portal[data-hydrated='true']")).toBeVisible();
}

export function uniqueEmail(prefix: string): string {
  return `${prefix}-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;
}

export const PASSWORD = "correct horse battery";

export async function signUp(page: Page, email: string, account = "Playwright Co") {
  await page.goto("/signup");
  await page.fill("#f-account_name", account);
  await page.fill("#f-email", email);
  await page.fill("#f-password", PASSWORD);
  await page.click("#signup-submit");
  await expect(page).toHaveURL(/\/$/);
  await hydrated(page);
}
