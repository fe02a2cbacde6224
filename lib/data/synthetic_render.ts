/**
 * Draws synthetic faces with `@napi-rs/canvas` (Skia), already ArcFace-aligned: the eye centres, nose tip
 * and mouth corners of a neutral face sit on insightface's 112x112 reference points, and pose, expression
 * and alignment jitter move them by a few pixels; the true five points of every image are returned.
 *
 * One canvas is reused for every face; per image only two gradients and the output buffer are allocated.
 *
 * @module
 */
import { type Canvas, createCanvas, type SKRSContext2D } from "@napi-rs/canvas";
import type { Pixels } from "./pixels.ts";
import { Rng } from "../util/random.ts";
import {
  SYNTHETIC_TRAITS,
  type SyntheticIdentity,
  type SyntheticNuisance,
  TRAIT_INDEX,
} from "./synthetic_traits.ts";

/**
 * insightface's ArcFace reference landmarks for 112x112 crops (`arcface_src` in insightface
 * `utils/face_align.py`, with its +8 px x-offset): left eye, right eye, nose tip, left and right mouth corner.
 */
const ARCFACE_112: readonly (readonly [number, number])[] = [
  [38.2946, 51.6963],
  [73.5318, 51.5014],
  [56.0252, 71.7366],
  [41.5493, 92.3655],
  [70.7299, 92.2041],
];

/** Five landmarks `[x0, y0, …, x4, y4]` in output pixels, ArcFace order (eyes, nose tip, mouth corners). */
export type SyntheticLandmarks = Float32Array;

/** A rendered face: pixels and its true landmarks. */
export interface RenderedFace {
  /** RGB pixels, `size × size`. */
  readonly pixels: Pixels;
  /** The five landmarks in output pixels. */
  readonly landmarks: SyntheticLandmarks;
}

type Rgb = [number, number, number];

const lerp = (a: number, b: number, t: number) => a + (b - a) * t;
const mix = (
  a: Rgb,
  b: Rgb,
  t: number,
): Rgb => [lerp(a[0], b[0], t), lerp(a[1], b[1], t), lerp(a[2], b[2], t)];
const scaleRgb = (c: Rgb, k: number): Rgb => [c[0] * k, c[1] * k, c[2] * k];
const css = (c: Rgb, alpha = 1) =>
  alpha >= 1
    ? `rgb(${c[0] | 0},${c[1] | 0},${c[2] | 0})`
    : `rgba(${c[0] | 0},${c[1] | 0},${c[2] | 0},${alpha.toFixed(3)})`;

/** Interpolates along a palette with `t` in [0, 1]. */
function palette(colours: readonly Rgb[], t: number): Rgb {
  const x = Math.min(0.9999, Math.max(0, t)) * (colours.length - 1);
  const i = Math.floor(x);
  return mix(colours[i], colours[i + 1], x - i);
}

const SKIN: readonly Rgb[] = [[86, 54, 38], [140, 94, 66], [198, 148, 112], [236, 196, 168], [250, 222, 200]];
const HAIR: readonly Rgb[] = [[20, 16, 14], [46, 33, 24], [78, 56, 38], [116, 88, 60], [156, 126, 88]];
const IRIS: readonly Rgb[] = [[52, 30, 18], [104, 64, 32], [118, 104, 50], [66, 108, 70], [64, 104, 160], [
  120,
  130,
  142,
]];
const GINGER: Rgb = [176, 82, 36];

/** Geometry and colours of one identity in the 112 frame, before pose. */
interface FaceShape {
  skin: Rgb;
  hair: Rgb;
  brow: Rgb;
  iris: Rgb;
  lip: Rgb;
  eyeHalfSpacing: number;
  eyeHalfWidth: number;
  eyeHalfHeight: number;
  eyeTilt: number;
  irisRadius: number;
  browGap: number;
  browThickness: number;
  browArch: number;
  noseTipY: number;
  noseHalfWidth: number;
  noseTipRadius: number;
  noseBridge: number;
  mouthY: number;
  mouthHalfWidth: number;
  upperLip: number;
  lowerLip: number;
  cupidBow: number;
  foreheadHalfWidth: number;
  cheekHalfWidth: number;
  jawHalfWidth: number;
  chinHalfWidth: number;
  chinY: number;
  cheekFullness: number;
  blush: number;
  nasolabial: number;
  stubble: number;
  nostril: number;
  beard: number;
  moustache: number;
  mole: [number, number, number];
  hairlineY: number;
  hairlineDip: number;
  hairVolume: number;
  hairPart: number;
  earHalfHeight: number;
}

function faceShape(identity: SyntheticIdentity): FaceShape {
  const t = identity.traits;
  if (t.length !== SYNTHETIC_TRAITS.length) {
    throw new RangeError(`a synthetic identity needs ${SYNTHETIC_TRAITS.length} traits, got ${t.length}`);
  }
  const v = (name: keyof typeof TRAIT_INDEX) => t[TRAIT_INDEX[name]];
  const warmth = (v("skinWarmth") - 0.5) * 30;
  const skinBase = palette(SKIN, v("skinTone"));
  const skin: Rgb = [skinBase[0] + warmth, skinBase[1], skinBase[2] - warmth];
  const hairLightness = 0.15 + 0.6 * v("hairLightness") ** 1.3;
  const hair = mix(
    palette(HAIR, hairLightness),
    GINGER,
    v("hairRed") * 0.25 * (1 - Math.abs(hairLightness - 0.5)),
  );
  const lipTint = mix([200, 66, 84], [160, 84, 62], v("lipHue"));
  const lip = scaleRgb(mix(skin, lipTint, 0.25 + 0.75 * v("lipRedness")), 1.05 - 0.5 * v("lipDarkness"));
  const eyeHalfWidth = 5.6 + 2 * v("eyeWidth");
  const moleSize = v("moleSize");
  return {
    skin,
    hair,
    brow: scaleRgb(hair, 1 - 0.35 * v("browDarkness")),
    iris: palette(IRIS, v("irisHue")),
    lip,
    eyeHalfSpacing: 17.6 + 2 * (v("eyeSpacing") - 0.5),
    eyeHalfWidth,
    eyeHalfHeight: eyeHalfWidth * (0.33 + 0.18 * v("eyeHeight")),
    eyeTilt: (v("eyeTilt") - 0.5) * 0.24,
    irisRadius: 2.5 + 0.9 * v("irisSize"),
    browGap: 7.8 + 3 * v("browHeight"),
    browThickness: 1.8 + 2 * v("browThickness"),
    browArch: 1.2 + 2.4 * v("browArch"),
    noseTipY: 71.7 + 4 * (v("noseLength") - 0.5),
    noseHalfWidth: 5 + 7 * v("noseWidth"),
    noseTipRadius: 2.2 + 3.8 * v("noseTip"),
    noseBridge: 2 + 4 * v("noseBridge"),
    mouthY: 92.3 + 1.6 * (v("chinLength") - 0.5),
    mouthHalfWidth: 11.5 + 6.5 * v("mouthWidth"),
    upperLip: 1.6 + 4 * v("upperLip"),
    lowerLip: 2 + 5.5 * v("lowerLip"),
    cupidBow: 0.3 + 1.6 * v("cupidBow"),
    foreheadHalfWidth: 34.5 + 4 * v("foreheadWidth"),
    cheekHalfWidth: 38.5 + 7.5 * v("faceWidth"),
    jawHalfWidth: 22 + 16 * v("jawWidth"),
    chinHalfWidth: 2 + 15 * v("chinWidth"),
    chinY: 102 + 11 * v("chinLength"),
    cheekFullness: 8 * v("cheekFullness"),
    blush: 0.85 * v("blush"),
    nasolabial: 0.7 * v("nasolabial"),
    stubble: 0.5 * v("stubble"),
    nostril: 0.6 + 0.9 * v("nostrilSize"),
    beard: v("beard"),
    moustache: v("moustache"),
    mole: [56 + (v("moleX") - 0.5) * 46, 67 + 33 * v("moleY"), moleSize > 0 ? 0.8 + 2.4 * moleSize : 0],
    hairlineY: 16 + 9 * v("hairline"),
    hairlineDip: (v("hairlineShape") - 0.5) * 6,
    hairVolume: v("hairVolume"),
    hairPart: (v("hairPart") - 0.5) * 16,
    earHalfHeight: 8 + 3 * v("earSize"),
  };
}

/**
 * Renders synthetic faces on one reusable canvas.
 *
 * @example
 * ```ts
 * import { Rng } from "../util/random.ts";
 * import { SyntheticFaceRenderer } from "./synthetic_render.ts";
 * import { NEUTRAL_NUISANCE, sampleIdentity } from "./synthetic_traits.ts";
 * const renderer = new SyntheticFaceRenderer(112);
 * const face = renderer.render(sampleIdentity(new Rng(3)), NEUTRAL_NUISANCE);
 * console.log(face.pixels.width, face.landmarks.length); // 112 10
 * ```
 */
export class SyntheticFaceRenderer {
  /** Output width and height in pixels. */
  readonly size: number;
  readonly #canvas: Canvas;
  readonly #ctx: SKRSContext2D;
  readonly #blurScratch: Float32Array;
  readonly #rowScratch: Float32Array;
  readonly #edgeShade: ReturnType<SKRSContext2D["createRadialGradient"]>;
  readonly #softDark: ReturnType<SKRSContext2D["createRadialGradient"]>;
  readonly #softRed: ReturnType<SKRSContext2D["createRadialGradient"]>;
  readonly #softLight: ReturnType<SKRSContext2D["createRadialGradient"]>;

  /**
   * Creates a `SyntheticFaceRenderer`.
   *
   * @param size Output size in pixels (faces are drawn in the 112 frame and scaled).
   */
  constructor(size = 112) {
    if (!Number.isInteger(size) || size < 16 || size > 1024) {
      throw new RangeError(`synthetic face size must be an integer in [16, 1024], got ${size}`);
    }
    this.size = size;
    this.#canvas = createCanvas(size, size);
    this.#ctx = this.#canvas.getContext("2d");
    this.#blurScratch = new Float32Array(size * size * 3);
    this.#rowScratch = new Float32Array(size * size * 3);
    const ctx = this.#ctx;
    // Shared soft sprites in a unit circle; placed with translate/scale, tinted by globalAlpha.
    this.#edgeShade = ctx.createRadialGradient(0, 0, 0.55, 0, 0, 1.05);
    this.#edgeShade.addColorStop(0, "rgba(0,0,0,0)");
    this.#edgeShade.addColorStop(1, "rgba(0,0,0,0.42)");
    this.#softDark = ctx.createRadialGradient(0, 0, 0, 0, 0, 1);
    this.#softDark.addColorStop(0, "rgba(40,20,10,0.9)");
    this.#softDark.addColorStop(1, "rgba(40,20,10,0)");
    this.#softRed = ctx.createRadialGradient(0, 0, 0, 0, 0, 1);
    this.#softRed.addColorStop(0, "rgba(214,70,74,0.85)");
    this.#softRed.addColorStop(1, "rgba(214,70,74,0)");
    this.#softLight = ctx.createRadialGradient(0, 0, 0, 0, 0, 1);
    this.#softLight.addColorStop(0, "rgba(255,255,255,0.8)");
    this.#softLight.addColorStop(1, "rgba(255,255,255,0)");
  }

  /**
   * Draws one face.
   *
   * @param identity Who (traits).
   * @param nuisance How this photo differs (pose, expression, light, …).
   * @param out Optional RGB buffer of `size * size * 3` bytes to fill instead of allocating one.
   */
  render(identity: SyntheticIdentity, nuisance: SyntheticNuisance, out?: Uint8Array): RenderedFace {
    const size = this.size;
    const data = out ?? new Uint8Array(size * size * 3);
    if (data.length !== size * size * 3) {
      throw new RangeError(`output buffer holds ${data.length} bytes, expected ${size * size * 3}`);
    }
    const shape = faceShape(identity);
    // Every face starts from the same drawing state, so renders do not depend on what came before.
    this.#ctx.save();
    let landmarks: SyntheticLandmarks;
    try {
      landmarks = this.#draw(shape, nuisance);
    } finally {
      this.#ctx.restore();
    }
    this.#finish(nuisance, data);
    return { pixels: { width: size, height: size, channels: 3, data }, landmarks };
  }

  /** The canvas (for encoding a contact sheet); holds the last face drawn, before noise and blur. */
  get canvas(): Canvas {
    return this.#canvas;
  }

  #sprite(sprite: CanvasGradientLike, x: number, y: number, rx: number, ry: number, alpha: number): void {
    if (alpha <= 0.003) return;
    const ctx = this.#ctx;
    ctx.save();
    ctx.translate(x, y);
    ctx.scale(rx, ry);
    ctx.globalAlpha = Math.min(1, alpha);
    ctx.fillStyle = sprite;
    ctx.fillRect(-1, -1, 2, 2);
    ctx.restore();
  }

  #draw(s: FaceShape, n: SyntheticNuisance): SyntheticLandmarks {
    const ctx = this.#ctx;
    const k = this.size / 112;
    const cx = 56;
    // Head pose: in-plane rotation, scale and shift as a similarity about the face centre.
    const angle = (n.roll * Math.PI) / 180;
    const cos = Math.cos(angle) * n.scale * k, sin = Math.sin(angle) * n.scale * k;
    const pivotX = 56, pivotY = 64;
    const e = (pivotX + n.shiftX) * k - (cos * pivotX - sin * pivotY);
    const f = (pivotY + n.shiftY) * k - (sin * pivotX + cos * pivotY);

    // Background, in image space.
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.globalAlpha = 1;
    const bg = ctx.createLinearGradient(0, 0, 0, this.size);
    bg.addColorStop(0, css(n.background as Rgb));
    bg.addColorStop(1, css(n.background2 as Rgb));
    ctx.fillStyle = bg;
    ctx.fillRect(0, 0, this.size, this.size);
    ctx.setTransform(cos, sin, -sin, cos, e, f);

    // Yaw and pitch: features shift with their depth; the far half of the face narrows.
    const yaw = n.yaw, pitch = n.pitch;
    const fx = (x: number, depth: number) => x + yaw * 6 * depth;
    const fy = (y: number, depth: number) => y + pitch * 4 * depth;
    const wl = 1 + 0.22 * yaw, wr = 1 - 0.22 * yaw; // half-width factors of the left / right side
    const side = (dx: number) => (dx < 0 ? dx * wl : dx * wr);

    const skin = s.skin;
    const skinDark = scaleRgb(skin, 0.8);
    const hairTop = -4 - 4 * s.hairVolume;

    // Hair behind the head (volume, long hair at the sides).
    const volume = Math.min(1, Math.max(0, s.hairVolume + n.hairVolume));
    const hairReach = 2 + 6 * volume;
    const hairDown = 50 + 30 * volume * volume;
    const hair = scaleRgb(s.hair, n.hairTone);
    ctx.fillStyle = css(hair);
    ctx.beginPath();
    ctx.moveTo(cx + side(-s.cheekHalfWidth - hairReach), hairDown);
    ctx.bezierCurveTo(
      cx + side(-s.cheekHalfWidth - hairReach - 3),
      18,
      cx + side(-0.75 * s.foreheadHalfWidth - hairReach),
      hairTop,
      cx + yaw * 2,
      hairTop,
    );
    ctx.bezierCurveTo(
      cx + side(0.75 * s.foreheadHalfWidth + hairReach),
      hairTop,
      cx + side(s.cheekHalfWidth + hairReach + 3),
      18,
      cx + side(s.cheekHalfWidth + hairReach),
      hairDown,
    );
    ctx.closePath();
    ctx.fill();

    // Neck.
    ctx.fillStyle = css(scaleRgb(skin, 0.72));
    ctx.fillRect(cx + yaw * 2 - s.jawHalfWidth * 0.75, 86, s.jawHalfWidth * 1.5, 40);

    // Ears.
    const earY = fy(60, 0.3);
    for (const dir of [-1, 1]) {
      const ex = cx + side(dir * (s.cheekHalfWidth + 1.5));
      ctx.fillStyle = css(skinDark);
      ctx.beginPath();
      ctx.ellipse(ex, earY, 3.4 + 1.6 * (s.earHalfHeight / 12), s.earHalfHeight, 0, 0, 2 * Math.PI);
      ctx.fill();
    }

    // Face outline: forehead, temples, cheekbones, jaw, chin.
    const chinY = fy(s.chinY, 0.6);
    const chinX = fx(cx, 0.5);
    const jawY = fy(90, 0.5);
    const jawR = cx + side(s.jawHalfWidth) + yaw * 2, jawL = cx + side(-s.jawHalfWidth) + yaw * 2;
    const cheekR = cx + side(s.cheekHalfWidth), cheekL = cx + side(-s.cheekHalfWidth);
    const foreR = cx + side(s.foreheadHalfWidth), foreL = cx + side(-s.foreheadHalfWidth);
    const bulge = s.cheekFullness + 2;
    ctx.beginPath();
    ctx.moveTo(chinX, chinY);
    ctx.bezierCurveTo(chinX + s.chinHalfWidth * wr + 4, chinY, jawR, chinY - 2, jawR, jawY);
    ctx.bezierCurveTo(jawR + bulge * wr, jawY - 12, cheekR, 72, cheekR, 58);
    ctx.bezierCurveTo(cheekR, 44, foreR, 30, foreR, 22);
    ctx.bezierCurveTo(foreR, 8, (foreR + cx) / 2, 2, cx, 2);
    ctx.bezierCurveTo((foreL + cx) / 2, 2, foreL, 8, foreL, 22);
    ctx.bezierCurveTo(foreL, 30, cheekL, 44, cheekL, 58);
    ctx.bezierCurveTo(cheekL, 72, jawL - bulge * wl, jawY - 12, jawL, jawY);
    ctx.bezierCurveTo(jawL, chinY - 2, chinX - s.chinHalfWidth * wl - 4, chinY, chinX, chinY);
    ctx.closePath();
    ctx.fillStyle = css(skin);
    ctx.fill();
    // Soft shading towards the edges, centred on the (turned) face.
    ctx.save();
    ctx.clip();
    ctx.translate(fx(cx, 0.4), 62);
    ctx.scale(s.cheekHalfWidth * 1.05, 52);
    ctx.fillStyle = this.#edgeShade;
    ctx.fillRect(-1.3, -1.3, 2.6, 2.6);
    ctx.restore();

    // Cheeks: fullness highlight and blush.
    const cheekY = fy(76, 0.6);
    for (const dir of [-1, 1]) {
      const x = fx(cx + side(dir * 23), 0.6);
      this.#sprite(this.#softLight, x, cheekY - 3, 9 + s.cheekFullness, 7, 0.08 + 0.05 * s.cheekFullness);
      this.#sprite(this.#softRed, x, cheekY, 10, 7.5, s.blush);
    }

    // Facial hair.
    const mouthY = fy(s.mouthY, 0.7);
    const mouthX = fx(cx, 0.7);
    const smileLift = 3.6 * n.smile;
    const mouthHalf = s.mouthHalfWidth + 2 * n.smile;
    // The beard region: jaw and chin up to the cheeks, open around the mouth by `coverage`.
    const beardPath = (coverage: number) => {
      const top = fy(66, 0.5);
      ctx.beginPath();
      ctx.moveTo(cx + side(-s.cheekHalfWidth + 1), top);
      ctx.bezierCurveTo(
        cx + side(-s.cheekHalfWidth + 1),
        jawY,
        cx + side(-s.jawHalfWidth),
        chinY + 1,
        chinX,
        chinY + 1.5,
      );
      ctx.bezierCurveTo(
        cx + side(s.jawHalfWidth),
        chinY + 1,
        cx + side(s.cheekHalfWidth - 1),
        jawY,
        cx + side(s.cheekHalfWidth - 1),
        top,
      );
      ctx.bezierCurveTo(
        cx + side(28 - 8 * coverage),
        top + 14,
        mouthX + mouthHalf + 4,
        mouthY + 4,
        mouthX,
        mouthY + s.lowerLip + 3 + 6 * (1 - coverage),
      );
      ctx.bezierCurveTo(
        mouthX - mouthHalf - 4,
        mouthY + 4,
        cx + side(-28 + 8 * coverage),
        top + 14,
        cx + side(-s.cheekHalfWidth + 1),
        top,
      );
    };
    if (s.stubble > 0) {
      ctx.globalAlpha = s.stubble;
      ctx.fillStyle = css(mix(scaleRgb(skin, 0.55), [60, 70, 90], 0.4));
      beardPath(1);
      ctx.fill();
      ctx.globalAlpha = 1;
    }
    if (s.beard > 0) {
      ctx.globalAlpha = 0.3 + 0.6 * s.beard;
      ctx.fillStyle = css(scaleRgb(hair, 0.9));
      beardPath(s.beard);
      ctx.fill();
      ctx.globalAlpha = 1;
    }
    if (s.moustache > 0) {
      ctx.globalAlpha = Math.min(1, 0.3 + 0.7 * s.moustache);
      ctx.fillStyle = css(scaleRgb(hair, 0.85));
      const lipTop = mouthY - s.upperLip - 0.6;
      const thick = 1.5 + 3.5 * s.moustache;
      ctx.beginPath();
      ctx.moveTo(mouthX - mouthHalf - 1.5, mouthY - smileLift + 1.5);
      ctx.quadraticCurveTo(mouthX - mouthHalf * 0.5, lipTop - thick - 1, mouthX, lipTop - thick);
      ctx.quadraticCurveTo(
        mouthX + mouthHalf * 0.5,
        lipTop - thick - 1,
        mouthX + mouthHalf + 1.5,
        mouthY - smileLift + 1.5,
      );
      ctx.quadraticCurveTo(mouthX + mouthHalf * 0.5, lipTop - 0.5, mouthX, lipTop);
      ctx.quadraticCurveTo(
        mouthX - mouthHalf * 0.5,
        lipTop - 0.5,
        mouthX - mouthHalf - 1.5,
        mouthY - smileLift + 1.5,
      );
      ctx.fill();
      ctx.globalAlpha = 1;
    }

    // Mole.
    if (s.mole[2] > 0) {
      ctx.fillStyle = "rgb(62,38,28)";
      ctx.beginPath();
      ctx.arc(fx(s.mole[0], 0.6), fy(s.mole[1], 0.6), s.mole[2], 0, 2 * Math.PI);
      ctx.fill();
    }

    // Nose: bridge shading, nasolabial folds, tip, wings, nostrils.
    const tipX = fx(cx, 1), tipY = fy(s.noseTipY, 1);
    const eyeY = fy(51.6, 0.6);
    ctx.strokeStyle = css(scaleRgb(skin, 0.7), 0.3);
    ctx.lineWidth = 1.2;
    ctx.beginPath();
    for (const dir of [-1, 1]) {
      ctx.moveTo(fx(cx + dir * s.noseBridge, 0.75), eyeY + 4);
      ctx.quadraticCurveTo(
        fx(cx + dir * s.noseBridge * 0.9, 0.9),
        (eyeY + tipY) / 2,
        tipX + dir * (s.noseHalfWidth - 2.2),
        tipY - 2.5,
      );
    }
    ctx.stroke();
    if (s.nasolabial > 0.02) {
      ctx.strokeStyle = css(scaleRgb(skin, 0.6), s.nasolabial);
      ctx.lineWidth = 1.3;
      ctx.beginPath();
      for (const dir of [-1, 1]) {
        ctx.moveTo(tipX + dir * (s.noseHalfWidth + 1), tipY + 1);
        ctx.quadraticCurveTo(
          tipX + dir * (s.noseHalfWidth + 6),
          mouthY - 8,
          mouthX + dir * (mouthHalf + 2.5),
          mouthY + 1 - smileLift,
        );
      }
      ctx.stroke();
    }
    this.#sprite(this.#softDark, tipX, tipY + 3.2, s.noseHalfWidth * 0.95, 2.4, 0.35);
    ctx.fillStyle = css(mix(skin, [255, 240, 230], 0.2));
    ctx.beginPath();
    ctx.ellipse(tipX, tipY - 0.6, s.noseTipRadius, s.noseTipRadius * 0.85, 0, 0, 2 * Math.PI);
    ctx.fill();
    ctx.strokeStyle = css(scaleRgb(skin, 0.55));
    ctx.lineWidth = 1.4;
    ctx.beginPath();
    ctx.arc(tipX - s.noseHalfWidth + 2.2, tipY + 0.4, 2.4, 0.5 * Math.PI, 1.45 * Math.PI);
    ctx.moveTo(tipX + s.noseHalfWidth - 2.2, tipY - 2);
    ctx.arc(tipX + s.noseHalfWidth - 2.2, tipY + 0.4, 2.4, -0.45 * Math.PI, 0.5 * Math.PI);
    ctx.stroke();
    ctx.fillStyle = "rgb(58,34,28)";
    ctx.beginPath();
    ctx.ellipse(
      tipX - s.noseHalfWidth * 0.42,
      tipY + 2.2,
      (1 + 0.12 * s.noseHalfWidth) * s.nostril,
      0.9 * s.nostril,
      0.25,
      0,
      2 * Math.PI,
    );
    ctx.ellipse(
      tipX + s.noseHalfWidth * 0.42,
      tipY + 2.2,
      (1 + 0.12 * s.noseHalfWidth) * s.nostril,
      0.9 * s.nostril,
      -0.25,
      0,
      2 * Math.PI,
    );
    ctx.fill();

    // Mouth: upper lip, lower lip, opening, corners.
    const left = mouthX - mouthHalf, right = mouthX + mouthHalf;
    const cornerY = mouthY - smileLift;
    const open = n.smile > 0.55 ? (n.smile - 0.55) * 9 : 0;
    const lineY = mouthY + 0.8 * n.smile;
    ctx.fillStyle = css(s.lip);
    ctx.beginPath();
    ctx.moveTo(left, cornerY);
    ctx.quadraticCurveTo(
      mouthX - mouthHalf * 0.55,
      mouthY - s.upperLip - 0.5,
      mouthX - 3.2,
      mouthY - s.upperLip - s.cupidBow * 0.5,
    );
    ctx.quadraticCurveTo(
      mouthX,
      mouthY - s.upperLip + s.cupidBow,
      mouthX + 3.2,
      mouthY - s.upperLip - s.cupidBow * 0.5,
    );
    ctx.quadraticCurveTo(mouthX + mouthHalf * 0.55, mouthY - s.upperLip - 0.5, right, cornerY);
    ctx.quadraticCurveTo(mouthX, lineY + 2 * n.smile + open + s.lowerLip * 2.1, left, cornerY);
    ctx.fill();
    if (open > 0) {
      ctx.fillStyle = "rgb(70,22,26)";
      ctx.beginPath();
      ctx.moveTo(left + 1.5, cornerY);
      ctx.quadraticCurveTo(mouthX, lineY - 1.2, right - 1.5, cornerY);
      ctx.quadraticCurveTo(mouthX, lineY + open * 1.4, left + 1.5, cornerY);
      ctx.fill();
      ctx.fillStyle = "rgb(236,232,220)";
      ctx.fillRect(mouthX - mouthHalf * 0.55, lineY - 1, mouthHalf * 1.1, Math.min(2.2, open * 0.6));
    }
    ctx.strokeStyle = css(scaleRgb(s.lip, 0.45));
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(left, cornerY);
    ctx.quadraticCurveTo(mouthX, lineY + 1.5 * n.smile, right, cornerY);
    ctx.stroke();

    // Eyes and brows.
    const eyeOpen = n.eyeOpenness;
    const eyeCentres: [number, number][] = [];
    for (const dir of [-1, 1]) {
      const ex = fx(cx + side(dir * s.eyeHalfSpacing), 0.6) - (dir < 0 ? 0.1 : -0.1);
      const ey = eyeY;
      eyeCentres.push([ex, ey]);
      ctx.save();
      ctx.translate(ex, ey);
      ctx.rotate(-dir * s.eyeTilt);
      const w = s.eyeHalfWidth * (dir < 0 ? wl : wr);
      const h = s.eyeHalfHeight * eyeOpen;
      // Socket shadow.
      this.#sprite(this.#softDark, 0, -1, w + 3, s.eyeHalfHeight + 3.5, 0.16);
      ctx.fillStyle = "rgb(238,236,230)";
      ctx.beginPath();
      ctx.moveTo(-w, 0);
      ctx.quadraticCurveTo(0, -2 * h, w, 0);
      ctx.quadraticCurveTo(0, 1.6 * h, -w, 0);
      ctx.fill();
      if (eyeOpen > 0.35) {
        ctx.save();
        ctx.clip();
        ctx.fillStyle = css(s.iris);
        ctx.beginPath();
        ctx.arc(yaw * 1.2, 0, s.irisRadius, 0, 2 * Math.PI);
        ctx.fill();
        ctx.fillStyle = "rgb(14,10,10)";
        ctx.beginPath();
        ctx.arc(yaw * 1.2, 0, s.irisRadius * 0.42, 0, 2 * Math.PI);
        ctx.fill();
        ctx.restore();
      }
      ctx.strokeStyle = "rgb(30,20,18)";
      ctx.lineWidth = 1.3;
      ctx.beginPath();
      ctx.moveTo(-w - 0.5, 0.3);
      ctx.quadraticCurveTo(0, -2 * h - 0.4, w + 0.5, 0.3);
      ctx.stroke();
      ctx.restore();

      // Brow.
      const browY = ey - s.browGap - n.browRaise;
      const inner = ex - dir * (s.eyeHalfWidth + 0.5);
      const outer = ex + dir * (s.eyeHalfWidth + 3.5);
      ctx.strokeStyle = css(s.brow);
      ctx.lineWidth = s.browThickness;
      ctx.lineCap = "round";
      ctx.beginPath();
      ctx.moveTo(inner, browY + 0.8);
      ctx.quadraticCurveTo(ex + dir * 1.5, browY - s.browArch, outer, browY + 1.2);
      ctx.stroke();
    }

    // Hair in front: the hairline with its parting and temples.
    const hairlineY = fy(s.hairlineY, 0.3);
    const partX = fx(cx + s.hairPart + 3 * n.hairShift, 0.4);
    const templeL = cx + side(-s.foreheadHalfWidth - 4), templeR = cx + side(s.foreheadHalfWidth + 4);
    const templeY = hairlineY + 9 - Math.max(0, -s.hairlineDip);
    const outerL = cx + side(-s.cheekHalfWidth - hairReach), outerR = cx + side(s.cheekHalfWidth + hairReach);
    ctx.fillStyle = css(hair);
    ctx.beginPath();
    ctx.moveTo(templeL - 2, templeY + 8);
    ctx.quadraticCurveTo(templeL + 6, templeY, (templeL + partX) / 2, hairlineY + 1.5);
    ctx.quadraticCurveTo(partX - 3, hairlineY + Math.max(0, s.hairlineDip), partX, hairlineY - 2);
    ctx.quadraticCurveTo(
      partX + 3,
      hairlineY + Math.max(0, s.hairlineDip),
      (templeR + partX) / 2,
      hairlineY + 1.5,
    );
    ctx.quadraticCurveTo(templeR - 6, templeY, templeR + 2, templeY + 8);
    ctx.bezierCurveTo(
      outerR + 3,
      18,
      cx + side(0.75 * s.foreheadHalfWidth + hairReach),
      hairTop,
      cx + yaw * 2,
      hairTop,
    );
    ctx.bezierCurveTo(
      cx + side(-0.75 * s.foreheadHalfWidth - hairReach),
      hairTop,
      outerL - 3,
      18,
      templeL - 2,
      templeY + 8,
    );
    ctx.fill();
    // A few strands from the parting give the hair some texture.
    ctx.strokeStyle = css(scaleRgb(hair, 0.7), 0.45);
    ctx.lineWidth = 0.9;
    ctx.beginPath();
    for (let i = -3; i <= 3; i++) {
      if (i === 0) continue;
      ctx.moveTo(partX, hairlineY - 4);
      ctx.quadraticCurveTo(partX + i * 6, hairlineY - 10, partX + i * 11, hairlineY + 2 - Math.abs(i));
    }
    ctx.stroke();

    // Glasses (a nuisance: they come and go between photos).
    if (n.glasses) {
      const frame = mix([20, 18, 18], [170, 160, 140], 1 - n.glassesDarkness);
      ctx.strokeStyle = css(frame);
      ctx.lineWidth = 1.1 + 0.9 * n.glassesDarkness;
      ctx.fillStyle = "rgba(200,220,235,0.10)";
      ctx.beginPath();
      for (const [ex, ey] of eyeCentres) {
        const rw = 9.5, rh = 7.2;
        if (n.glassesShape < 0.5) ctx.ellipse(ex, ey + 0.5, rw, rh, 0, 0, 2 * Math.PI);
        else ctx.roundRect(ex - rw, ey - rh + 0.5, 2 * rw, 2 * rh, 2.5);
      }
      ctx.fill();
      ctx.moveTo(eyeCentres[0][0] + 9.5, eyeCentres[0][1] - 1);
      ctx.quadraticCurveTo(fx(cx, 0.7), eyeY - 4, eyeCentres[1][0] - 9.5, eyeCentres[1][1] - 1);
      ctx.moveTo(eyeCentres[0][0] - 9.5, eyeCentres[0][1]);
      ctx.lineTo(cx + side(-s.cheekHalfWidth - 1), eyeY - 1);
      ctx.moveTo(eyeCentres[1][0] + 9.5, eyeCentres[1][1]);
      ctx.lineTo(cx + side(s.cheekHalfWidth + 1), eyeY - 1);
      ctx.stroke();
    }

    // Directional light over everything.
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    if (n.lightStrength > 0.01) {
      const dx = Math.cos(n.lightAngle) * this.size * 0.5, dy = Math.sin(n.lightAngle) * this.size * 0.5;
      const c0 = this.size / 2;
      const light = ctx.createLinearGradient(c0 + dx, c0 + dy, c0 - dx, c0 - dy);
      light.addColorStop(0, `rgba(255,250,240,${(0.22 * n.lightStrength).toFixed(3)})`);
      light.addColorStop(0.5, "rgba(0,0,0,0)");
      light.addColorStop(1, `rgba(0,0,0,${(0.4 * n.lightStrength).toFixed(3)})`);
      ctx.fillStyle = light;
      ctx.fillRect(0, 0, this.size, this.size);
    }

    // True landmarks, through the same similarity as the drawing.
    const points: [number, number][] = [
      eyeCentres[0],
      eyeCentres[1],
      [tipX, tipY],
      [left, cornerY],
      [right, cornerY],
    ];
    const landmarks = new Float32Array(10);
    points.forEach(([x, y], i) => {
      landmarks[2 * i] = cos * x - sin * y + e;
      landmarks[2 * i + 1] = sin * x + cos * y + f;
    });
    return landmarks;
  }

  /** Colour and contrast, then blur, then noise, from the canvas into `out` (RGB). */
  #finish(n: SyntheticNuisance, out: Uint8Array): void {
    const size = this.size;
    const count = size * size * 3;
    const rgba = this.#canvas.data();
    const tmp = this.#blurScratch;
    const g0 = n.colourCast[0] * n.contrast,
      g1 = n.colourCast[1] * n.contrast,
      g2 = n.colourCast[2] * n.contrast;
    const offset = 128 - 128 * n.contrast + n.brightness;
    for (let p = 0, q = 0; p < count; p += 3, q += 4) {
      tmp[p] = rgba[q] * g0 + offset;
      tmp[p + 1] = rgba[q + 1] * g1 + offset;
      tmp[p + 2] = rgba[q + 2] * g2 + offset;
    }
    if (n.blur > 0) this.#blend3x3(n.blur);
    const noise = gaussianTable();
    let state = (n.noiseSeed >>> 0) || 0x9e3779b9;
    const sigma = n.noise;
    for (let i = 0; i < count; i++) {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      const value = tmp[i] + sigma * noise[state & 0xffff];
      out[i] = value < 0 ? 0 : value > 255 ? 255 : value + 0.5;
    }
  }

  /** Blends the scratch image with its 3x3 box blur (separable, edges clamped). */
  #blend3x3(amount: number): void {
    const size = this.size;
    const tmp = this.#blurScratch;
    const rows = this.#rowScratch;
    const row = size * 3;
    for (let y = 0; y < size; y++) {
      const base = y * row;
      for (let x = 0; x < size; x++) {
        const l = x > 0 ? -3 : 0, r = x < size - 1 ? 3 : 0;
        for (let c = 0; c < 3; c++) {
          const i = base + x * 3 + c;
          rows[i] = tmp[i + l] + tmp[i] + tmp[i + r];
        }
      }
    }
    const k = amount / 9;
    for (let y = 0; y < size; y++) {
      const up = y > 0 ? -row : 0, down = y < size - 1 ? row : 0;
      for (let i = y * row, end = i + row; i < end; i++) {
        tmp[i] += k * (rows[i + up] + rows[i] + rows[i + down]) - amount * tmp[i];
      }
    }
  }
}

let gaussian: Float32Array | null = null;

/** 65 536 standard-normal values (fixed), indexed by a fast hash for per-pixel noise. */
function gaussianTable(): Float32Array {
  if (gaussian) return gaussian;
  const rng = new Rng(0x6e6f6973);
  gaussian = Float32Array.from({ length: 65536 }, () => rng.normal());
  return gaussian;
}

type CanvasGradientLike = ReturnType<SKRSContext2D["createRadialGradient"]>;

/**
 * The ArcFace reference points the renderer aims at, in the 112 frame (for tests and illustrations).
 *
 * @example
 * ```ts
 * import { arcfaceReference112 } from "./synthetic_render.ts";
 * console.log(arcfaceReference112()[2]); // [ 56.0252, 71.7366 ]
 * ```
 */
export function arcfaceReference112(): [number, number][] {
  return ARCFACE_112.map(([x, y]) => [x, y]);
}
