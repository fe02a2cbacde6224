import assert from "node:assert/strict";
import { decodeImage } from "../lib/image/mod.ts";
import { rocCurve, SortedScores, verificationMetrics } from "../lib/metrics/mod.ts";
import {
  ChromiumNotFoundError,
  detFigure,
  displayFigure,
  figureHtmlPage,
  figureJson,
  figureMimeBundle,
  findChromium,
  groupedBarFigure,
  JUPYTER_DISPLAY,
  normalQuantile,
  PALETTE,
  plainFigure,
  PLOTLY_MIME,
  plotlySource,
  renderFigurePng,
  renderFigureSvg,
  scoreHistogram,
  scoreHistogramFigure,
  writeFigureHtml,
} from "../lib/plots/mod.ts";
import { Rng } from "../lib/util/random.ts";

const chromium = findChromium();
if (chromium === null) {
  console.warn("skipping PNG/SVG rendering tests: no Chromium found (install Debian's chromium package)");
}

function syntheticScores(seed: number, genuineMean: number, count = 3000): SortedScores {
  const rng = new Rng(seed);
  const genuine = Array.from({ length: count }, () => rng.normal(genuineMean, 0.12));
  const impostor = Array.from({ length: count * 10 }, () => rng.normal(0, 0.1));
  return SortedScores.from(genuine, impostor);
}

const baselineMasked = syntheticScores(1, 0.3);
const maskInvMasked = syntheticScores(2, 0.45);
const baselineUnmasked = syntheticScores(3, 0.6);

function det() {
  return detFigure([
    { model: "baseline", scenario: "UM-UM", scores: baselineUnmasked },
    { model: "baseline", scenario: "M-M", scores: baselineMasked },
    { model: "MaskInv-LG", scenario: "M-M", scores: maskInvMasked },
  ], { title: "DET: synthetic scores", width: 800, height: 600 });
}

Deno.test("normalQuantile matches known normal deviates", () => {
  assert.ok(Math.abs(normalQuantile(0.975) - 1.959963984540054) < 1e-8);
  assert.ok(Math.abs(normalQuantile(0.001) + 3.090232306167813) < 1e-8);
  assert.ok(Math.abs(normalQuantile(0.5)) < 1e-12);
  assert.ok(Math.abs(normalQuantile(1 - 1e-6) - 4.753424308822899) < 1e-7);
  assert.equal(normalQuantile(0), -Infinity);
  assert.equal(normalQuantile(1), Infinity);
});

Deno.test("detFigure: one trace per model × scenario, colour by model, dash by scenario, log axes", () => {
  const figure = det();
  assert.equal(figure.data.length, 4); // 3 curves + the diagonal
  const [a, b, c] = figure.data;
  const line = (trace: Record<string, unknown>) => trace.line as { color: string; dash: string };
  assert.equal(line(a).color, PALETTE[0]);
  assert.equal(line(b).color, PALETTE[0]);
  assert.equal(line(c).color, PALETTE[1]);
  assert.equal(line(a).dash, "solid");
  assert.equal(line(b).dash, "dot");
  const eer = verificationMetrics(baselineMasked).eer;
  assert.equal(b.name, `baseline · M-M (EER ${Number((eer * 100).toPrecision(3))}%)`);
  const xaxis = figure.layout.xaxis as { type: string; range: number[] };
  assert.equal(xaxis.type, "log");
  assert.deepEqual(xaxis.range, [-4, 0]);
  // Points are exact curve points without zero rates, and the hover data holds their thresholds.
  const x = b.x as number[];
  const y = b.y as number[];
  const custom = b.customdata as number[][];
  assert.ok(x.length > 100 && x.length <= 2000);
  assert.ok(x.every((v) => v > 0) && y.every((v) => v > 0));
  const curve = rocCurve(baselineMasked);
  const k = curve.thresholds.indexOf(custom[10][0]);
  assert.equal(x[10], curve.fmr[k]);
  assert.equal(y[10], curve.fnmr[k]);
});

Deno.test("detFigure on probit axes maps rates through the normal quantile", () => {
  const figure = detFigure([{ model: "m", scores: baselineMasked }], { axis: "probit", showDiagonal: false });
  assert.equal(figure.data.length, 1);
  const trace = figure.data[0];
  const custom = trace.customdata as number[][];
  assert.equal((trace.x as number[])[5], normalQuantile(custom[5][1]));
  assert.equal((trace.y as number[])[5], normalQuantile(custom[5][2]));
  const xaxis = figure.layout.xaxis as { tickvals: number[]; ticktext: string[] };
  assert.equal(xaxis.ticktext[xaxis.tickvals.indexOf(normalQuantile(0.01))], "1%");
  assert.throws(() => detFigure([], { minRate: 0 }), /0 < minRate < maxRate <= 1/);
});

Deno.test("score histogram: shares per class, EER threshold marked", () => {
  const h = scoreHistogram(SortedScores.from([0, 0.5, 1, 1], [0, 0.1]), 2);
  assert.deepEqual(h.edges, [0, 0.5, 1]);
  assert.deepEqual(h.genuine, [0.25, 0.75]);
  assert.deepEqual(h.impostor, [1, 0]);
  const figure = scoreHistogramFigure(baselineMasked, { bins: 40 });
  const [genuine, impostor] = figure.data;
  const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(sum(genuine.y as number[]) - 1) < 1e-12);
  assert.ok(Math.abs(sum(impostor.y as number[]) - 1) < 1e-12);
  const metrics = verificationMetrics(baselineMasked);
  const shapes = figure.layout.shapes as Array<{ x0: number }>;
  assert.equal(shapes[0].x0, metrics.eerThreshold);
  const annotations = figure.layout.annotations as Array<{ text: string }>;
  assert.match(annotations[0].text, new RegExp(`EER ${(metrics.eer * 100).toFixed(2)}%`));
  assert.deepEqual(scoreHistogramFigure(baselineMasked, { threshold: null }).layout.shapes, []);
  assert.throws(() => scoreHistogram(baselineMasked, 0), /bins must be a positive integer/);
});

Deno.test("grouped bars: one trace per scenario, rates in percent, gaps for missing values", () => {
  const s = (eer: number, fdr: number) => ({ eer, fmr100: 0.1, fmr1000: 0.2, gMean: 0.5, iMean: 0, fdr });
  const figure = groupedBarFigure([
    { name: "baseline", scenarios: { "M-M": s(0.08, 3), "UM-UM": s(0.01, 9) } },
    { name: "MaskInv-HG", scenarios: { "UM-UM": s(0.012, 8) } },
  ]);
  assert.deepEqual(figure.data.map((t) => t.name), ["UM-UM", "M-M"]);
  assert.deepEqual(figure.data[0].y, [1, 1.2]);
  assert.deepEqual(figure.data[1].y, [8, null]);
  assert.deepEqual(figure.data[0].x, ["baseline", "MaskInv-HG"]);
  const fdr = groupedBarFigure([{ name: "b", scenarios: { "M-M": s(0.08, 3) } }], { metric: "fdr" });
  assert.deepEqual(fdr.data[0].y, [3]);
});

Deno.test("figure JSON is script-safe and typed arrays become arrays", () => {
  const figure = { data: [{ name: "</script><b>&", x: new Float64Array([1, 2]) }], layout: {} };
  const json = figureJson(figure);
  assert.ok(!/[<>&]/.test(json));
  assert.deepEqual(JSON.parse(json).data[0], { name: "</script><b>&", x: [1, 2] });
  assert.deepEqual(plainFigure(figure).data[0].x, [1, 2]);
  assert.throws(() => figureJson({ data: {} as never, layout: {} }), /figure.data must be an array/);
});

Deno.test("standalone HTML inlines plotly.js and loads nothing from the network", async () => {
  const source = plotlySource();
  assert.match(source.slice(0, 200), /plotly\.js v\d+\.\d+\.\d+/);
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/det.html`;
    await writeFigureHtml(path, det());
    const html = await Deno.readTextFile(path);
    assert.ok(html.includes(source));
    assert.match(html, /<title>DET: synthetic scores<\/title>/);
    assert.ok(!/<script[^>]+src=/i.test(html), "no external scripts");
    assert.ok(!/<link[^>]+href=/i.test(html), "no external stylesheets");
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["det.html"]); // no temp files left
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("notebook display bundle carries the plotly mime type and an HTML fallback", () => {
  const figure = det();
  const shown = displayFigure(figure);
  assert.equal(JUPYTER_DISPLAY, Symbol.for("Jupyter.display"));
  const bundle = shown[JUPYTER_DISPLAY]();
  assert.deepEqual(Object.keys(bundle), [PLOTLY_MIME, "text/html"]);
  assert.deepEqual(bundle[PLOTLY_MIME], plainFigure(figure));
  const html = bundle["text/html"] as string;
  assert.ok(html.includes(plotlySource()));
  assert.match(html, /Plotly\.newPlot\("maskinv-plot-[0-9a-f-]+"/);
  const light = figureMimeBundle(figure, { inlinePlotly: false })["text/html"] as string;
  assert.ok(!/plotly\.js v\d/.test(light) && light.length < html.length - plotlySource().length + 1000);
});

Deno.test("a missing Chromium is reported clearly", async () => {
  const error = new ChromiumNotFoundError(["/nowhere/chromium"]);
  assert.match(error.message, /no Chromium found .*\/nowhere\/chromium.*chromium/);
  await assert.rejects(
    () => renderFigurePng(det(), { chromium: "/nonexistent/chromium-binary" }),
    /could not run \/nonexistent\/chromium-binary/,
  );
});

Deno.test({
  name: "DET plot renders to PNG in headless Chromium with no network",
  ignore: chromium === null,
  fn: async () => {
    const png = await renderFigurePng(det(), { width: 800, height: 600 });
    const pixels = await decodeImage(png, "det.png");
    assert.equal(pixels.width, 800);
    assert.equal(pixels.height, 600);
    // The curves are drawn: plenty of pixels in the first model's colour (#1f77b4) and the second's (#ff7f0e).
    const near = (r: number, g: number, b: number) => {
      let count = 0;
      for (let i = 0; i < pixels.data.length; i += 3) {
        const d = Math.abs(pixels.data[i] - r) + Math.abs(pixels.data[i + 1] - g) +
          Math.abs(pixels.data[i + 2] - b);
        if (d < 40) count++;
      }
      return count;
    };
    assert.ok(near(0x1f, 0x77, 0xb4) > 500, "blue curves missing");
    assert.ok(near(0xff, 0x7f, 0x0e) > 200, "orange curve missing");
  },
});

Deno.test({
  name: "DET plot exports to SVG through plotly in headless Chromium",
  ignore: chromium === null,
  fn: async () => {
    const svg = await renderFigureSvg(det(), { width: 640, height: 480 });
    assert.match(svg, /^<svg[^>]+width="640"[^>]+height="480"/);
    assert.match(svg, /stroke: rgb\(31, 119, 180\)/);
    assert.match(svg, /DET: synthetic scores/);
  },
});

Deno.test("figure HTML page is a complete document", () => {
  const page = figureHtmlPage({ data: [], layout: {} }, { inlinePlotly: false, title: "a <b>" });
  assert.match(page, /^<!DOCTYPE html>/);
  assert.match(page, /<title>a &lt;b&gt;<\/title>/);
});

Deno.test("showImageGrid fits images into cells and always carries a text/html fallback", async () => {
  const { showImageGrid } = await import("../lib/plots/mod.ts");
  const wide = { width: 32, height: 8, channels: 3 as const, data: new Uint8Array(32 * 8 * 3).fill(200) };
  const shown = await showImageGrid([[wide, null], [wide]], { caption: `a <grid>`, cell: 16, gap: 1 });
  assert.ok(typeof shown.bundle["image/jpeg"] === "string");
  const html = String(shown.bundle["text/html"]);
  assert.match(html, /^<figure/);
  assert.match(html, /a &lt;grid&gt;/);
  const bytes = Uint8Array.from(atob(String(shown.bundle["image/jpeg"])), (c) => c.charCodeAt(0));
  const sheet = await decodeImage(bytes, "grid.jpg");
  // two 16x4 cells per row plus gaps: 1 + 16 + 1 + 16 + 1 wide, 1 + 4 + 1 + 4 + 1 high
  assert.deepEqual([sheet.width, sheet.height], [35, 11]);
});
