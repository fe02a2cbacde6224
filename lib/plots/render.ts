/**
 * Static images of figures (PNG, SVG) rendered by headless Chromium from the self-contained HTML page, with
 * networking disabled: what is drawn comes from the page alone. Optional: without a Chromium binary the
 * functions throw {@linkcode ChromiumNotFoundError}, and {@linkcode findChromium} lets callers check first.
 *
 * @module
 */
import { writeFileAtomic } from "../util/mod.ts";
import type { PlotlyFigure } from "./figure.ts";
import { figureHtmlPage } from "./html.ts";

/**
 * Where Chromium is looked for, after the `MASKINV_CHROMIUM` environment variable.
 *
 * @example
 * ```ts
 * import { CHROMIUM_CANDIDATES } from "./render.ts";
 * console.log(CHROMIUM_CANDIDATES[0]); // "/usr/bin/chromium"
 * ```
 */
export const CHROMIUM_CANDIDATES: readonly string[] = [
  "/usr/bin/chromium",
  "/usr/bin/chromium-browser",
  "/usr/bin/google-chrome",
  "/usr/bin/google-chrome-stable",
];

/**
 * Thrown when no Chromium binary is available to render images.
 *
 * @example
 * ```ts
 * import { ChromiumNotFoundError, renderFigurePng } from "./render.ts";
 * try {
 *   await renderFigurePng({ data: [], layout: {} });
 * } catch (error) {
 *   if (error instanceof ChromiumNotFoundError) console.log("PNG export needs Chromium");
 * }
 * ```
 */
export class ChromiumNotFoundError extends Error {
  /**
   * Creates the error.
   *
   * @param looked The paths that were tried.
   */
  constructor(looked: readonly string[]) {
    super(
      `no Chromium found to render the figure (looked at ${looked.join(", ")}); install Debian's ` +
        "`chromium` package, set MASKINV_CHROMIUM to a Chromium/Chrome binary, or write HTML with writeFigureHtml",
    );
    this.name = "ChromiumNotFoundError";
  }
}

function candidates(): string[] {
  let fromEnv: string | undefined;
  try {
    fromEnv = Deno.env.get("MASKINV_CHROMIUM");
  } catch {
    // No --allow-env: fall back to the usual locations.
  }
  return fromEnv ? [fromEnv, ...CHROMIUM_CANDIDATES] : [...CHROMIUM_CANDIDATES];
}

/**
 * The path of a usable Chromium binary, or `null` when there is none.
 *
 * @example
 * ```ts
 * import { findChromium } from "./render.ts";
 * console.log(findChromium() ?? "no chromium: PNG/SVG export unavailable, HTML still works");
 * ```
 */
export function findChromium(): string | null {
  for (const path of candidates()) {
    try {
      if (Deno.statSync(path).isFile) return path;
    } catch {
      // Not there (or not readable): try the next one.
    }
  }
  return null;
}

/** Options of {@linkcode renderFigurePng} and {@linkcode renderFigureSvg}. */
export interface RenderOptions {
  /** Image width in CSS pixels (default: the layout's width, else 800). */
  width?: number;
  /** Image height in CSS pixels (default: the layout's height, else 600). */
  height?: number;
  /** Device pixel ratio of PNGs (default 1; 2 gives a sharper, twice as large image). */
  scale?: number;
  /** Chromium binary (default: {@linkcode findChromium}). */
  chromium?: string;
  /** Give up after this many milliseconds (default 60 000). */
  timeoutMs?: number;
}

function sized(
  figure: PlotlyFigure,
  options: RenderOptions,
): { figure: PlotlyFigure; width: number; height: number } {
  const number = (value: unknown) => (typeof value === "number" && value > 0 ? value : undefined);
  const width = Math.round(options.width ?? number(figure.layout.width) ?? 800);
  const height = Math.round(options.height ?? number(figure.layout.height) ?? 600);
  if (!(width > 0 && height > 0)) throw new RangeError(`image size must be positive, got ${width}x${height}`);
  return { figure: { data: figure.data, layout: { ...figure.layout, width, height } }, width, height };
}

/**
 * Runs headless Chromium on `page` in a fresh temporary profile; `extraArgs` gets the temporary directory
 * (to place output files there) and `collect` reads the result before the directory is removed.
 */
async function withChromium<T>(
  page: string,
  extraArgs: (dir: string) => string[],
  options: RenderOptions,
  output: string,
  collect: (dir: string, stdout: Uint8Array) => Promise<T>,
): Promise<T> {
  const chromium = options.chromium ?? findChromium();
  if (chromium === null) throw new ChromiumNotFoundError(candidates());
  const dir = await Deno.makeTempDir({ prefix: "maskinv-render-" });
  try {
    const htmlPath = `${dir}/figure.html`;
    await Deno.writeTextFile(htmlPath, page);
    const args = [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-extensions",
      "--no-first-run",
      "--no-default-browser-check",
      "--hide-scrollbars",
      "--mute-audio",
      // No network at all: any request would fail, so a rendered plot proves the page is self-contained.
      "--proxy-server=127.0.0.1:9",
      "--host-resolver-rules=MAP * ~NOTFOUND",
      `--user-data-dir=${dir}/profile`,
      "--virtual-time-budget=15000",
      ...extraArgs(dir),
      `file://${htmlPath}`,
    ];
    let result: Deno.CommandOutput;
    try {
      result = await new Deno.Command(chromium, {
        args,
        stdout: "piped",
        stderr: "piped",
        signal: AbortSignal.timeout(options.timeoutMs ?? 60_000),
      }).output();
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`could not run ${chromium} to render ${output}: ${reason}`, { cause: error });
    }
    if (!result.success) {
      const tail = new TextDecoder().decode(result.stderr).trim().split("\n").slice(-5).join("\n");
      throw new Error(`${chromium} failed (exit code ${result.code}) rendering ${output}:\n${tail}`);
    }
    return await collect(dir, result.stdout);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * Renders the figure to PNG bytes with headless Chromium.
 *
 * @param figure The figure.
 * @param options Size, scale, Chromium binary, timeout.
 * @throws {ChromiumNotFoundError} When no Chromium is installed.
 * @example
 * ```ts
 * import { findChromium, renderFigurePng } from "./render.ts";
 * if (findChromium()) {
 *   const png = await renderFigurePng({ data: [{ type: "scatter", x: [1, 2], y: [2, 1] }], layout: {} });
 *   console.log(png.length);
 * }
 * ```
 */
export async function renderFigurePng(
  figure: PlotlyFigure,
  options: RenderOptions = {},
): Promise<Uint8Array> {
  const { figure: fixed, width, height } = sized(figure, options);
  const page = figureHtmlPage(fixed, { staticPlot: true });
  const scale = options.scale ?? 1;
  if (!(scale > 0)) throw new RangeError(`scale must be positive, got ${scale}`);
  return await withChromium(
    page,
    (
      dir,
    ) => [
      `--window-size=${width},${height}`,
      `--force-device-scale-factor=${scale}`,
      `--screenshot=${dir}/figure.png`,
    ],
    options,
    "a PNG",
    async (dir) => {
      const png = await Deno.readFile(`${dir}/figure.png`).catch(() => {
        throw new Error("Chromium exited without writing the screenshot");
      });
      if (!PNG_SIGNATURE.every((byte, k) => png[k] === byte)) {
        throw new Error("Chromium's screenshot is not a PNG");
      }
      return png;
    },
  );
}

/**
 * Renders the figure to a PNG file (written atomically).
 *
 * @param path Destination, e.g. `docs/det.png`.
 * @throws {ChromiumNotFoundError} When no Chromium is installed.
 * @example
 * ```ts
 * import { findChromium, writeFigurePng } from "./render.ts";
 * if (findChromium()) {
 *   await writeFigurePng("plot.png", { data: [{ type: "bar", x: ["a"], y: [1] }], layout: {} });
 * }
 * ```
 */
export async function writeFigurePng(
  path: string,
  figure: PlotlyFigure,
  options: RenderOptions = {},
): Promise<void> {
  await writeFileAtomic(path, await renderFigurePng(figure, options));
}

/** Undoes the HTML escaping of text content in Chromium's DOM dump. */
function unescapeText(text: string): string {
  return text.replaceAll("&lt;", "<").replaceAll("&gt;", ">").replaceAll("&nbsp;", "\u00a0").replaceAll(
    "&quot;",
    '"',
  )
    .replaceAll("&#39;", "'").replaceAll("&amp;", "&");
}

/**
 * Renders the figure to SVG text: plotly's own vector export (`Plotly.toImage`), run in headless Chromium.
 *
 * @throws {ChromiumNotFoundError} When no Chromium is installed.
 * @example
 * ```ts
 * import { findChromium, renderFigureSvg } from "./render.ts";
 * if (findChromium()) {
 *   const svg = await renderFigureSvg({ data: [{ type: "scatter", x: [1, 2], y: [2, 1] }], layout: {} });
 *   console.log(svg.startsWith("<svg")); // true
 * }
 * ```
 */
export async function renderFigureSvg(figure: PlotlyFigure, options: RenderOptions = {}): Promise<string> {
  const { figure: fixed, width, height } = sized(figure, options);
  const exportScript = `<script type="text/javascript">
(function waitForPlot() {
  var plot = document.querySelector(".maskinv-plot[data-rendered]");
  if (!plot) return setTimeout(waitForPlot, 10);
  window.Plotly.toImage(plot, { format: "svg", width: ${width}, height: ${height} }).then(function (url) {
    var out = document.createElement("pre");
    out.id = "maskinv-svg";
    out.textContent = decodeURIComponent(url.slice(url.indexOf(",") + 1));
    document.body.appendChild(out);
  });
})();
</script>
</body>`;
  const page = figureHtmlPage(fixed, { staticPlot: true }).replace("</body>", exportScript);
  return await withChromium(page, () => ["--dump-dom"], options, "an SVG", (_dir, stdout) => {
    const dom = new TextDecoder().decode(stdout);
    const match = dom.match(/<pre id="maskinv-svg">([\s\S]*?)<\/pre>/);
    if (!match) return Promise.reject(new Error("Chromium finished before plotly produced the SVG"));
    const svg = unescapeText(match[1]);
    if (!svg.startsWith("<svg")) return Promise.reject(new Error("plotly's export is not an SVG document"));
    return Promise.resolve(svg);
  });
}

/**
 * Renders the figure to an SVG file (written atomically).
 *
 * @throws {ChromiumNotFoundError} When no Chromium is installed.
 * @example
 * ```ts
 * import { findChromium, writeFigureSvg } from "./render.ts";
 * if (findChromium()) {
 *   await writeFigureSvg("plot.svg", { data: [{ type: "bar", x: ["a"], y: [1] }], layout: {} });
 * }
 * ```
 */
export async function writeFigureSvg(
  path: string,
  figure: PlotlyFigure,
  options: RenderOptions = {},
): Promise<void> {
  await writeFileAtomic(path, new TextEncoder().encode(await renderFigureSvg(figure, options)));
}
