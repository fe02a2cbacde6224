/**
 * Draws the project's own mask templates with @napi-rs/canvas and writes each as an RGBA PNG plus its JSON
 * descriptor into this folder. Run it after changing a drawing: `deno task masks:draw`.
 *
 * Every template is drawn in the frame of an ArcFace-aligned 112x112 face (eyes at y ≈ 51.6, nose tip at
 * y ≈ 71.7, mouth corners at y ≈ 92.3), scaled by {@linkcode SCALE}, so its anchors are simply the ArcFace
 * landmarks in the same frame. Colourable templates are drawn in grey: the grey is the shading that a
 * chosen colour multiplies.
 *
 * @module
 */
import { createCanvas, Path2D, type SKRSContext2D } from "@napi-rs/canvas";
import { ARCFACE_112 } from "../lib/image/geometry.ts";
import { encodePng } from "../lib/image/codec.ts";
import { writeFileAtomic, writeTextFileAtomic } from "../lib/util/atomic.ts";
import type { TemplateDescriptor } from "../lib/masks/templates.ts";

/** Template pixels per pixel of the 112x112 aligned face. */
export const SCALE = 4;
/** The part of the aligned-face frame the canvas covers (frame units). */
const FRAME = { x0: -4, y0: 40, x1: 116, y1: 132 };

type Ctx = SKRSContext2D;

interface Drawing {
  descriptor: Omit<TemplateDescriptor, "image" | "anchors" | "landmarks">;
  draw: (ctx: Ctx) => void;
}

/** A path from frame coordinates built by `build`. */
function path(build: (p: Path2D) => void): Path2D {
  const p = new Path2D();
  build(p);
  return p;
}

/** Cylindrical light: bright in the middle of the face, darker toward the cheeks, a little darker low. */
function cylinderShade(ctx: Ctx, clip: Path2D, centre = 56, halfWidth = 46, strength = 0.3): void {
  ctx.save();
  ctx.clip(clip);
  ctx.globalCompositeOperation = "multiply";
  const g = ctx.createLinearGradient(centre - halfWidth, 0, centre + halfWidth, 0);
  const steps = 12;
  for (let i = 0; i <= steps; i++) {
    const u = i / steps;
    const v = Math.round(255 * (1 - strength * (1 - Math.cos((u - 0.5) * Math.PI) ** 0.8)));
    g.addColorStop(u, `rgb(${v},${v},${v})`);
  }
  ctx.fillStyle = g;
  ctx.fillRect(FRAME.x0, FRAME.y0, FRAME.x1 - FRAME.x0, FRAME.y1 - FRAME.y0);
  const low = ctx.createLinearGradient(0, 95, 0, 126);
  low.addColorStop(0, "rgb(255,255,255)");
  low.addColorStop(1, "rgb(205,205,205)");
  ctx.fillStyle = low;
  ctx.fillRect(FRAME.x0, 95, FRAME.x1 - FRAME.x0, FRAME.y1 - 95);
  ctx.restore();
}

/** An elastic ear loop from one mask corner to another, bowing outward to `reachX`. */
function earLoop(ctx: Ctx, from: [number, number], to: [number, number], reachX: number, grey = 215): void {
  ctx.save();
  ctx.strokeStyle = `rgb(${grey},${grey},${grey})`;
  ctx.lineWidth = 0.9;
  ctx.lineCap = "round";
  ctx.beginPath();
  ctx.moveTo(from[0], from[1]);
  ctx.bezierCurveTo(reachX, from[1] - 4, reachX, to[1] + 4, to[0], to[1]);
  ctx.stroke();
  ctx.restore();
}

// ---------------------------------------------------------------- surgical (pleated)

const surgicalOutline = path((p) => {
  p.moveTo(15, 65);
  p.quadraticCurveTo(35, 58.5, 56, 58);
  p.quadraticCurveTo(77, 58.5, 97, 65);
  p.lineTo(94, 105);
  p.quadraticCurveTo(76, 121, 56, 122.5);
  p.quadraticCurveTo(36, 121, 18, 105);
  p.closePath();
});

function drawSurgical(ctx: Ctx): void {
  earLoop(ctx, [15.5, 67], [18.5, 103], 1);
  earLoop(ctx, [96.5, 67], [93.5, 103], 111);
  ctx.fillStyle = "rgb(238,238,238)";
  ctx.fill(surgicalOutline);
  ctx.save();
  ctx.clip(surgicalOutline);
  // Three pleats: a soft shadow under each fold and a highlight on its ridge, following the mask's curve.
  for (const [i, y] of [76, 87, 98].entries()) {
    const sag = 2 + i * 1.6;
    const fold = (dy: number) =>
      path((p) => {
        p.moveTo(12, y + dy);
        p.quadraticCurveTo(56, y + dy + sag, 100, y + dy);
      });
    ctx.lineCap = "round";
    ctx.strokeStyle = "rgba(120,120,120,0.55)";
    ctx.lineWidth = 2.4;
    ctx.stroke(fold(1.6));
    ctx.strokeStyle = "rgba(255,255,255,0.9)";
    ctx.lineWidth = 1.1;
    ctx.stroke(fold(-0.4));
  }
  // Stitched binding along the left and right edges.
  ctx.strokeStyle = "rgba(150,150,150,0.8)";
  ctx.lineWidth = 0.5;
  ctx.setLineDash([1.2, 0.8]);
  for (const [x0, x1] of [[18, 21], [94, 91]]) {
    ctx.beginPath();
    ctx.moveTo(x0, 64);
    ctx.lineTo(x1, 104);
    ctx.stroke();
  }
  ctx.setLineDash([]);
  // Nose wire: a raised band along the top edge.
  ctx.strokeStyle = "rgba(255,255,255,0.95)";
  ctx.lineWidth = 1.6;
  ctx.beginPath();
  ctx.moveTo(40, 61.2);
  ctx.quadraticCurveTo(56, 58.9, 72, 61.2);
  ctx.stroke();
  ctx.strokeStyle = "rgba(140,140,140,0.6)";
  ctx.lineWidth = 0.5;
  ctx.beginPath();
  ctx.moveTo(40, 62.6);
  ctx.quadraticCurveTo(56, 60.3, 72, 62.6);
  ctx.stroke();
  ctx.restore();
  cylinderShade(ctx, surgicalOutline, 56, 46, 0.32);
}

// ---------------------------------------------------------------- KN95 (folded, heat-sealed edges)

const kn95Left = path((p) => {
  p.moveTo(56, 55);
  p.quadraticCurveTo(36, 59, 16, 68);
  p.quadraticCurveTo(15, 90, 22, 103);
  p.quadraticCurveTo(38, 118, 56, 124);
  p.closePath();
});
const kn95Right = path((p) => {
  p.moveTo(56, 55);
  p.quadraticCurveTo(76, 59, 96, 68);
  p.quadraticCurveTo(97, 90, 90, 103);
  p.quadraticCurveTo(74, 118, 56, 124);
  p.closePath();
});
const kn95Outline = path((p) => {
  p.moveTo(56, 55);
  p.quadraticCurveTo(76, 59, 96, 68);
  p.quadraticCurveTo(97, 90, 90, 103);
  p.quadraticCurveTo(74, 118, 56, 124);
  p.quadraticCurveTo(38, 118, 22, 103);
  p.quadraticCurveTo(15, 90, 16, 68);
  p.quadraticCurveTo(36, 59, 56, 55);
  p.closePath();
});

function drawKn95(ctx: Ctx): void {
  earLoop(ctx, [16.5, 70], [21, 101], 2);
  earLoop(ctx, [95.5, 70], [91, 101], 110);
  // The fold: the half facing the light is brighter than the other.
  ctx.fillStyle = "rgb(244,244,244)";
  ctx.fill(kn95Left);
  ctx.fillStyle = "rgb(214,214,214)";
  ctx.fill(kn95Right);
  ctx.save();
  ctx.clip(kn95Outline);
  // Heat-sealed seam down the middle and the embossed border.
  ctx.strokeStyle = "rgba(120,120,120,0.85)";
  ctx.lineWidth = 0.9;
  ctx.beginPath();
  ctx.moveTo(56, 55);
  ctx.lineTo(56, 124);
  ctx.stroke();
  ctx.strokeStyle = "rgba(255,255,255,0.8)";
  ctx.lineWidth = 0.5;
  ctx.beginPath();
  ctx.moveTo(55.2, 56);
  ctx.lineTo(55.2, 123);
  ctx.stroke();
  ctx.lineWidth = 2.2;
  ctx.strokeStyle = "rgba(150,150,150,0.55)";
  ctx.setLineDash([0.6, 0.9]);
  ctx.stroke(kn95Outline);
  ctx.setLineDash([]);
  ctx.restore();
  cylinderShade(ctx, kn95Outline, 56, 44, 0.28);
}

// ---------------------------------------------------------------- N95 (moulded cup with valve)

const n95Outline = path((p) => {
  p.moveTo(56, 57);
  p.bezierCurveTo(80, 57, 98, 70, 96, 92);
  p.bezierCurveTo(94, 114, 74, 124, 56, 124);
  p.bezierCurveTo(38, 124, 18, 114, 16, 92);
  p.bezierCurveTo(14, 70, 32, 57, 56, 57);
  p.closePath();
});

function drawN95(ctx: Ctx): void {
  // Head straps leave the cup sideways, toward the ears.
  for (const [y0, y1] of [[72, 66], [104, 110]]) {
    ctx.strokeStyle = "rgb(200,200,200)";
    ctx.lineWidth = 1.6;
    ctx.beginPath();
    ctx.moveTo(17, y0);
    ctx.lineTo(-2, y1);
    ctx.moveTo(95, y0);
    ctx.lineTo(114, y1);
    ctx.stroke();
  }
  ctx.fillStyle = "rgb(236,236,236)";
  ctx.fill(n95Outline);
  ctx.save();
  ctx.clip(n95Outline);
  // Spherical light on the dome.
  ctx.globalCompositeOperation = "multiply";
  const dome = ctx.createRadialGradient(50, 84, 4, 56, 92, 46);
  dome.addColorStop(0, "rgb(255,255,255)");
  dome.addColorStop(0.6, "rgb(232,232,232)");
  dome.addColorStop(1, "rgb(160,160,160)");
  ctx.fillStyle = dome;
  ctx.fillRect(FRAME.x0, FRAME.y0, FRAME.x1 - FRAME.x0, FRAME.y1 - FRAME.y0);
  ctx.globalCompositeOperation = "source-over";
  // Rim and nose foam.
  ctx.strokeStyle = "rgba(130,130,130,0.7)";
  ctx.lineWidth = 1.8;
  ctx.stroke(n95Outline);
  ctx.strokeStyle = "rgba(250,250,250,0.9)";
  ctx.lineWidth = 2.2;
  ctx.beginPath();
  ctx.moveTo(42, 60.5);
  ctx.quadraticCurveTo(56, 57.5, 70, 60.5);
  ctx.stroke();
  // Exhalation valve: a ribbed disc on the lower cheek.
  ctx.fillStyle = "rgb(120,120,120)";
  ctx.beginPath();
  ctx.ellipse(66, 100, 8.5, 7.5, -0.2, 0, Math.PI * 2);
  ctx.fill();
  ctx.strokeStyle = "rgba(200,200,200,0.8)";
  ctx.lineWidth = 0.7;
  for (let i = -2; i <= 2; i++) {
    ctx.beginPath();
    ctx.moveTo(60 + i * 0.5, 100 + i * 2.6);
    ctx.lineTo(72 + i * 0.5, 98.6 + i * 2.6);
    ctx.stroke();
  }
  ctx.restore();
}

// ---------------------------------------------------------------- cloth (fitted, centre seam, woven)

const clothOutline = path((p) => {
  p.moveTo(14, 67);
  p.bezierCurveTo(28, 60, 44, 56, 56, 57.5);
  p.bezierCurveTo(68, 56, 84, 60, 98, 67);
  p.bezierCurveTo(99, 85, 96, 100, 90, 108);
  p.bezierCurveTo(80, 119, 66, 122.5, 56, 123);
  p.bezierCurveTo(46, 122.5, 32, 119, 22, 108);
  p.bezierCurveTo(16, 100, 13, 85, 14, 67);
  p.closePath();
});

function drawCloth(ctx: Ctx): void {
  earLoop(ctx, [14.5, 69], [20, 106], 0, 190);
  earLoop(ctx, [97.5, 69], [92, 106], 112, 190);
  ctx.fillStyle = "rgb(236,236,236)";
  ctx.fill(clothOutline);
  ctx.save();
  ctx.clip(clothOutline);
  // Woven fabric: a fine, regular pattern of alternating warp and weft threads.
  const thread = 0.75;
  for (let y = FRAME.y0; y < FRAME.y1; y += thread) {
    for (let x = FRAME.x0; x < FRAME.x1; x += thread) {
      const over = (Math.round(x / thread) + Math.round(y / thread)) % 2 === 0;
      ctx.fillStyle = over ? "rgba(0,0,0,0.05)" : "rgba(255,255,255,0.05)";
      ctx.fillRect(x, y, thread, thread);
    }
  }
  // Centre seam and the hem along the edge.
  ctx.strokeStyle = "rgba(110,110,110,0.8)";
  ctx.lineWidth = 0.8;
  ctx.beginPath();
  ctx.moveTo(56, 57.5);
  ctx.bezierCurveTo(57.5, 80, 57.5, 100, 56, 123);
  ctx.stroke();
  ctx.strokeStyle = "rgba(140,140,140,0.7)";
  ctx.lineWidth = 0.45;
  ctx.setLineDash([1.1, 0.7]);
  ctx.stroke(clothOutline);
  ctx.setLineDash([]);
  ctx.restore();
  cylinderShade(ctx, clothOutline, 56.5, 46, 0.34);
}

/** The project's templates: descriptor fields and drawing code. */
export const DRAWINGS: readonly Drawing[] = [
  {
    descriptor: {
      name: "surgical",
      title: "Surgical mask (pleated)",
      fit: "affine",
      colours: [[158, 200, 228], [242, 242, 242], [60, 60, 64], [238, 190, 206], [166, 214, 196]],
      colourable: true,
      texturable: false,
      description:
        "Three-ply pleated surgical mask with nose wire and ear loops; drawn by maskinv (masks/draw.ts).",
    },
    draw: drawSurgical,
  },
  {
    descriptor: {
      name: "kn95",
      title: "KN95 respirator (folded)",
      fit: "affine",
      colours: [[245, 245, 245], [58, 58, 62], [190, 190, 196], [236, 206, 214]],
      colourable: true,
      texturable: false,
      description:
        "Vertically folded KN95 respirator with heat-sealed edges and ear loops; drawn by maskinv.",
    },
    draw: drawKn95,
  },
  {
    descriptor: {
      name: "n95",
      title: "N95 respirator (moulded cup, valve)",
      fit: "affine",
      colours: [[242, 242, 240], [226, 226, 214], [90, 96, 104]],
      colourable: true,
      texturable: false,
      description: "Moulded-cup N95 respirator with exhalation valve and head straps; drawn by maskinv.",
    },
    draw: drawN95,
  },
  {
    descriptor: {
      name: "cloth",
      title: "Cloth mask (fitted, centre seam)",
      fit: "affine",
      colours: [[40, 54, 92], [30, 30, 32], [150, 38, 46], [120, 124, 130], [74, 110, 158]],
      colourable: true,
      texturable: true,
      description: "Fitted two-panel cloth mask with centre seam and woven texture; drawn by maskinv.",
    },
    draw: drawCloth,
  },
];

/** Renders one drawing: RGBA pixels cropped to the mask, and its anchors (ArcFace points) in those pixels. */
export function renderDrawing(drawing: Drawing): {
  width: number;
  height: number;
  data: Uint8Array;
  anchors: [number, number][];
} {
  const width = Math.round((FRAME.x1 - FRAME.x0) * SCALE);
  const height = Math.round((FRAME.y1 - FRAME.y0) * SCALE);
  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext("2d");
  ctx.setTransform(SCALE, 0, 0, SCALE, -FRAME.x0 * SCALE, -FRAME.y0 * SCALE);
  drawing.draw(ctx);
  const full = new Uint8Array(ctx.getImageData(0, 0, width, height).data.buffer.slice(0));
  // Crop to the opaque part plus a one-pixel transparent margin.
  let minX = width, minY = height, maxX = -1, maxY = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (full[(y * width + x) * 4 + 3] > 0) {
        minX = Math.min(minX, x),
          maxX = Math.max(maxX, x),
          minY = Math.min(minY, y),
          maxY = Math.max(maxY, y);
      }
    }
  }
  minX = Math.max(0, minX - 1), minY = Math.max(0, minY - 1);
  maxX = Math.min(width - 1, maxX + 1), maxY = Math.min(height - 1, maxY + 1);
  const w = maxX - minX + 1, h = maxY - minY + 1;
  const data = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++) {
    data.set(full.subarray(((y + minY) * width + minX) * 4, ((y + minY) * width + minX + w) * 4), y * w * 4);
  }
  // Pixel centres sit at integer coordinates: frame point f maps to (f - x0) * SCALE - 0.5 - crop.
  const anchors = ARCFACE_112.map(([x, y]) =>
    [
      Number(((x - FRAME.x0) * SCALE - 0.5 - minX).toFixed(3)),
      Number(((y - FRAME.y0) * SCALE - 0.5 - minY).toFixed(3)),
    ] as [number, number]
  );
  return { width: w, height: h, data, anchors };
}

/** JSON with two-space indentation and number arrays kept on one line (stable under `deno fmt`). */
function formatJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(
    /\[\s*(-?[\d.e+]+(?:,\s*-?[\d.e+]+)*)\s*\]/g,
    (_, items: string) => `[${items.split(/,\s*/).join(", ")}]`,
  ) + "\n";
}

/** Renders every drawing and writes `name.png` + `name.json` into `directory`. */
export async function drawAll(directory: string): Promise<string[]> {
  const written: string[] = [];
  for (const drawing of DRAWINGS) {
    const { width, height, data, anchors } = renderDrawing(drawing);
    const name = drawing.descriptor.name;
    await writeFileAtomic(`${directory}/${name}.png`, await encodePng({ width, height, channels: 4, data }));
    const descriptor: TemplateDescriptor = {
      name,
      title: drawing.descriptor.title,
      image: `${name}.png`,
      anchors,
      landmarks: [0, 1, 2, 3, 4],
      fit: drawing.descriptor.fit,
      colours: drawing.descriptor.colours,
      colourable: drawing.descriptor.colourable,
      texturable: drawing.descriptor.texturable,
      description: drawing.descriptor.description,
    };
    await writeTextFileAtomic(`${directory}/${name}.json`, formatJson(descriptor));
    written.push(name);
  }
  return written;
}

if (import.meta.main) {
  const directory = new URL(".", import.meta.url).pathname.replace(/\/$/, "");
  const names = await drawAll(directory);
  console.log(`wrote ${names.map((n) => `${n}.png/.json`).join(", ")} to ${directory}`);
}
