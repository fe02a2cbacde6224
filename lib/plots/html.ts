/**
 * Self-contained HTML for figures: plotly.js (from the pinned `plotly.js-dist-min` npm package) is inlined,
 * so the page renders with no network, in a browser, a notebook or headless Chromium.
 *
 * @module
 */
import { writeTextFileAtomic } from "../util/mod.ts";
import { figureJson, type PlotlyFigure } from "./figure.ts";
import { escapeHtml } from "../util/html.ts";

let cachedSource: string | undefined;

/**
 * The plotly.js bundle's source text, read once from the installed npm package.
 *
 * @throws {Error} When the package cannot be found (run `deno install` in the project).
 * @example
 * ```ts
 * import { plotlySource } from "./html.ts";
 * console.log(plotlySource().length > 1_000_000); // true
 * ```
 */
export function plotlySource(): string {
  if (cachedSource !== undefined) return cachedSource;
  const tried: string[] = [];
  for (const url of plotlyLocations()) {
    tried.push(url.href);
    let source: string;
    try {
      source = Deno.readTextFileSync(url);
    } catch {
      continue;
    }
    // Inlined into <script>: the bundle must not contain a closing script tag.
    if (/<\/script/i.test(source)) throw new Error(`${url.href} contains '</script' and cannot be inlined`);
    cachedSource = source;
    return source;
  }
  throw new Error(
    `could not read plotly.js from the npm package plotly.js-dist-min (tried ${
      tried.join(", ") || "nothing"
    }); ` +
      "run `deno install` in the project so that node_modules holds it",
  );
}

/** Where the bundle may be: through the import map, then in any node_modules above this file. */
function plotlyLocations(): URL[] {
  const locations: URL[] = [];
  try {
    const resolved = new URL(import.meta.resolve("plotly.js-dist-min"));
    if (resolved.protocol === "file:") locations.push(new URL("plotly.min.js", resolved));
  } catch {
    // Not resolvable from the running program's import map (e.g. a script outside the project).
  }
  if (import.meta.url.startsWith("file:")) {
    for (let dir = new URL("./", import.meta.url); dir.pathname !== "/"; dir = new URL("../", dir)) {
      locations.push(new URL("node_modules/plotly.js-dist-min/plotly.min.js", dir));
    }
  }
  return locations;
}

/** Options of the HTML writers. */
export interface HtmlOptions {
  /** Page title (default: the figure's title, else "maskinv figure"). */
  title?: string;
  /** A non-interactive plot (no mode bar, no hover), as wanted for screenshots. */
  staticPlot?: boolean;
  /** Inline plotly.js (default true). `false` assumes `window.Plotly` already exists on the page. */
  inlinePlotly?: boolean;
}

function figureTitle(figure: PlotlyFigure): string | undefined {
  const title = figure.layout.title;
  if (typeof title === "string") return title;
  if (typeof title === "object" && title !== null && "text" in title && typeof title.text === "string") {
    return title.text;
  }
  return undefined;
}

/**
 * An HTML fragment (`<div>` plus scripts) that draws the figure, with plotly.js inlined unless told not to.
 * Used as the `text/html` fallback of notebook output.
 *
 * @example
 * ```ts
 * import { figureHtmlFragment } from "./html.ts";
 * const html = figureHtmlFragment({ data: [{ type: "bar", x: ["a"], y: [1] }], layout: {} }, { inlinePlotly: false });
 * console.log(html.includes("Plotly.newPlot")); // true
 * ```
 */
export function figureHtmlFragment(figure: PlotlyFigure, options: HtmlOptions = {}): string {
  const id = `maskinv-plot-${crypto.randomUUID()}`;
  const json = figureJson(figure);
  const config = JSON.stringify({
    responsive: false,
    displaylogo: false,
    staticPlot: options.staticPlot ?? false,
  });
  const library = options.inlinePlotly ?? true
    ? `<script type="text/javascript">${plotlySource()}</script>\n`
    : "";
  return `<div id="${id}" class="maskinv-plot"></div>\n${library}<script type="text/javascript">
(function () {
  var figure = ${json};
  window.Plotly.newPlot(${JSON.stringify(id)}, figure.data, figure.layout, ${config}).then(function () {
    document.getElementById(${JSON.stringify(id)}).setAttribute("data-rendered", "true");
  });
})();
</script>\n`;
}

/**
 * A complete, self-contained HTML page showing the figure.
 *
 * @example
 * ```ts
 * import { figureHtmlPage } from "./html.ts";
 * const page = figureHtmlPage({ data: [{ type: "bar", x: ["a"], y: [1] }], layout: { title: { text: "t" } } });
 * console.log(page.startsWith("<!DOCTYPE html>")); // true
 * ```
 */
export function figureHtmlPage(figure: PlotlyFigure, options: HtmlOptions = {}): string {
  const title = options.title ?? figureTitle(figure) ?? "maskinv figure";
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(title)}</title>
<style>html, body { margin: 0; padding: 0; background: #ffffff; }</style>
</head>
<body>
${figureHtmlFragment(figure, options)}</body>
</html>
`;
}

/**
 * Writes the figure as a standalone HTML file (atomically: a reader never sees a half-written file).
 *
 * @param path Destination, e.g. `results/det.html`.
 * @example
 * ```ts
 * import { writeFigureHtml } from "./html.ts";
 * const path = await Deno.makeTempFile({ suffix: ".html" });
 * await writeFigureHtml(path, { data: [{ type: "scatter", x: [1, 2], y: [3, 4] }], layout: {} });
 * ```
 */
export async function writeFigureHtml(
  path: string,
  figure: PlotlyFigure,
  options: HtmlOptions = {},
): Promise<void> {
  await writeTextFileAtomic(path, figureHtmlPage(figure, options));
}
