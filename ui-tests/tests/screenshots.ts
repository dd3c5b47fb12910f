/**
 * Screenshots for the user guide, taken by the browser tests at the moments a
 * user would want to see.
 *
 * `shoot(target, name)` saves a PNG of `target` (a panel's locator, or the
 * page) as `docs/images/<name>.png` when `MLOPS_DOCS_SCREENSHOTS=1`, and as
 * `ui-tests/test-results/screenshots/<name>.png` otherwise, so that a normal
 * test run never modifies tracked files while still exercising the same code.
 * Before shooting it waits for what the image shows to be settled: no
 * "loading…" text, every plotly chart drawn, web fonts loaded, two frames
 * painted. The specs use `DOCS_VIEWPORT` so the images keep the same size
 * from one run to the next.
 */
import { expect } from '@jupyterlab/galata';
import type { Locator, Page } from '@playwright/test';
import * as fs from 'fs';
import * as path from 'path';

/** The browser's size for tests that take screenshots (`test.use({ viewport })`). */
export const DOCS_VIEWPORT = { width: 1280, height: 800 };

/** True when the run is meant to refresh the committed images under `docs/images/`. */
export const DOCS_MODE = process.env.MLOPS_DOCS_SCREENSHOTS === '1';

/** Where `shoot` writes: the docs' images, or the (ignored) test results. */
export const SCREENSHOT_DIR = DOCS_MODE
  ? path.resolve(__dirname, '..', '..', 'docs', 'images')
  : path.resolve(__dirname, '..', 'test-results', 'screenshots');

/** Pixels of surrounding background kept around a part of a panel. */
const MARGIN = 6;

/**
 * Text the panels show while a request is in flight: "Loading…", "loading…",
 * "Loading the plot…", "Walking the lineage…", the drift button's "Running…".
 */
const LOADING = /\b(loading|walking)\b[^…\n]{0,40}…|\bloading\.\.\.|Running…/i;

function isPage(target: Page | Locator): target is Page {
  return typeof (target as Page).setViewportSize === 'function';
}

export interface IShootOptions {
  /**
   * The window's height for this shot only (the width stays fixed). A part of a
   * panel taller than the panel's scroll area is clipped by it: a taller window
   * lets it show whole. The viewport is set back to `DOCS_VIEWPORT` afterwards.
   */
  height?: number;
}

/**
 * Save a PNG of `target` as `<SCREENSHOT_DIR>/<name>.png` and return its path.
 *
 * `name` is a file name without extension (`[a-z0-9-]+`): the docs link it as
 * `images/<name>.png`. A locator is shot alone (its bounding box, scrolled
 * into view); a page is shot at the viewport's size, never full-page, so the
 * image cannot grow with the content.
 */
export async function shoot(
  target: Page | Locator,
  name: string,
  options: IShootOptions = {}
): Promise<string> {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) {
    throw new Error(`screenshot name "${name}" must match [a-z0-9-]+ (it becomes a file name)`);
  }
  const page = isPage(target) ? target : target.page();
  const wanted = { width: DOCS_VIEWPORT.width, height: options.height ?? DOCS_VIEWPORT.height };
  const size = page.viewportSize();
  if (!size || size.width !== wanted.width || size.height !== wanted.height) {
    await page.setViewportSize(wanted);
  }
  try {
    return await capture(page, target, name);
  } finally {
    if (options.height !== undefined) {
      await page.setViewportSize(DOCS_VIEWPORT);
    }
  }
}

async function capture(page: Page, target: Page | Locator, name: string): Promise<string> {
  const scope = isPage(target) ? page.locator('body') : target;
  await expect(scope).toBeVisible();
  await expect(scope).not.toContainText(LOADING, { timeout: 30000 });
  // plotly draws into a `.js-plotly-plot` element asynchronously (and is loaded on demand)
  const plots = scope.locator('.js-plotly-plot');
  for (let i = 0; i < (await plots.count()); i++) {
    await expect(plots.nth(i).locator('.main-svg').first()).toBeVisible({ timeout: 60000 });
  }
  await page.evaluate(async () => {
    await document.fonts.ready;
    await new Promise(resolve => requestAnimationFrame(() => requestAnimationFrame(resolve)));
  });
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name}.png`);
  const settings = { path: file, animations: 'disabled' as const, caret: 'hide' as const };
  if (isPage(target)) {
    await target.screenshot({ ...settings, fullPage: false });
  } else {
    await target.scrollIntoViewIfNeeded();
    const box = await target.boundingBox();
    if (!box) {
      throw new Error(`screenshot "${name}": the element has no box (not rendered?)`);
    }
    // a margin of the panel's background around a part of a panel, so its borders are
    // not cut; never beyond the panel (or the window), so no other UI shows
    const view = page.viewportSize() ?? DOCS_VIEWPORT;
    const bounds = await target.evaluate(el => {
      // a main-area panel, or a sidebar's stack (the body may have no height in Lab)
      const panel =
        el.closest('.jp-MainAreaWidget, #jp-left-stack, #jp-right-stack') ??
        document.documentElement;
      const r = panel.getBoundingClientRect();
      return { left: r.left, top: r.top, right: r.right, bottom: r.bottom };
    });
    const left = Math.max(0, bounds.left, box.x - MARGIN);
    const top = Math.max(0, bounds.top, box.y - MARGIN);
    const right = Math.min(view.width, bounds.right, box.x + box.width + MARGIN);
    const bottom = Math.min(view.height, bounds.bottom, box.y + box.height + MARGIN);
    const clip = {
      x: Math.floor(left),
      y: Math.floor(top),
      width: Math.ceil(right) - Math.floor(left),
      height: Math.ceil(bottom) - Math.floor(top)
    };
    await page.screenshot({ ...settings, clip });
  }
  expect(fs.statSync(file).size).toBeGreaterThan(0);
  return file;
}
