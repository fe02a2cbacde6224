/**
 * What makes a synthetic identity and what varies between its photos, as plain data: identity traits
 * (continuous values in [0, 1], each tied to a face region) and per-image nuisance (pose, expression,
 * lighting, background, blur, noise, glasses). The renderer turns both into pixels.
 *
 * By design most identity traits live in the lower face (nose, mouth, lips, cheeks, jaw, chin, facial hair,
 * a mole), the part a face mask hides; the upper face (eyes, brows, hairline, hair, ears) keeps enough
 * identity for masked recognition to be possible but harder.
 *
 * @module
 */
import { hashSeed, Rng } from "../util/random.ts";

/** The face region a trait shows in: a mask covers `lower`; `upper` stays visible; `global` is both. */
export type TraitRegion = "upper" | "lower" | "global";

/**
 * Name and face region of every identity trait, in the order of {@linkcode SyntheticIdentity.traits}.
 *
 * @example
 * ```ts
 * import { SYNTHETIC_TRAITS } from "./synthetic_traits.ts";
 * console.log(SYNTHETIC_TRAITS.filter((t) => t.region === "lower").length > 20); // true
 * ```
 */
export const SYNTHETIC_TRAITS = [
  // global
  { name: "skinTone", region: "global" },
  { name: "skinWarmth", region: "global" },
  { name: "faceWidth", region: "global" },
  // upper face: forehead, hair, ears, eyes, brows
  { name: "foreheadWidth", region: "upper" },
  { name: "hairline", region: "upper" },
  { name: "hairlineShape", region: "upper" },
  { name: "hairLightness", region: "upper" },
  { name: "hairRed", region: "upper" },
  { name: "hairVolume", region: "upper" },
  { name: "hairPart", region: "upper" },
  { name: "earSize", region: "upper" },
  { name: "eyeWidth", region: "upper" },
  { name: "eyeHeight", region: "upper" },
  { name: "eyeTilt", region: "upper" },
  { name: "eyeSpacing", region: "upper" },
  { name: "irisHue", region: "upper" },
  { name: "irisSize", region: "upper" },
  { name: "browThickness", region: "upper" },
  { name: "browArch", region: "upper" },
  { name: "browHeight", region: "upper" },
  { name: "browDarkness", region: "upper" },
  // lower face: nose, mouth, lips, cheeks, jaw, chin, facial hair, marks
  { name: "noseLength", region: "lower" },
  { name: "noseWidth", region: "lower" },
  { name: "noseTip", region: "lower" },
  { name: "noseBridge", region: "lower" },
  { name: "mouthWidth", region: "lower" },
  { name: "upperLip", region: "lower" },
  { name: "lowerLip", region: "lower" },
  { name: "lipRedness", region: "lower" },
  { name: "lipDarkness", region: "lower" },
  { name: "cupidBow", region: "lower" },
  { name: "jawWidth", region: "lower" },
  { name: "chinWidth", region: "lower" },
  { name: "chinLength", region: "lower" },
  { name: "cheekFullness", region: "lower" },
  { name: "blush", region: "lower" },
  { name: "nasolabial", region: "lower" },
  { name: "stubble", region: "lower" },
  { name: "lipHue", region: "lower" },
  { name: "nostrilSize", region: "lower" },
  { name: "beard", region: "lower" },
  { name: "moustache", region: "lower" },
  { name: "moleX", region: "lower" },
  { name: "moleY", region: "lower" },
  { name: "moleSize", region: "lower" },
] as const satisfies readonly { name: string; region: TraitRegion }[];

/** A trait name. */
export type TraitName = (typeof SYNTHETIC_TRAITS)[number]["name"];

/**
 * Index of each trait in {@linkcode SyntheticIdentity.traits}.
 *
 * @example
 * ```ts
 * import { TRAIT_INDEX } from "./synthetic_traits.ts";
 * console.log(TRAIT_INDEX.skinTone); // 0
 * ```
 */
export const TRAIT_INDEX: Readonly<Record<TraitName, number>> = Object.fromEntries(
  SYNTHETIC_TRAITS.map((t, i) => [t.name, i]),
) as Record<TraitName, number>;

/** A synthetic person: one value in [0, 1] per entry of {@linkcode SYNTHETIC_TRAITS}. */
export interface SyntheticIdentity {
  /** Trait values, indexed like {@linkcode SYNTHETIC_TRAITS}. */
  readonly traits: Float64Array;
}

/** What changes between two photos of the same synthetic person. */
export interface SyntheticNuisance {
  /** In-plane head rotation, degrees. */
  readonly roll: number;
  /** Left/right head turn in [−1, 1] (features shift by depth, the far cheek narrows). */
  readonly yaw: number;
  /** Up/down head tilt in [−1, 1] (features shift vertically by depth). */
  readonly pitch: number;
  /** Scale around the face centre (alignment jitter). */
  readonly scale: number;
  /** Horizontal shift in pixels (at 112). */
  readonly shiftX: number;
  /** Vertical shift in pixels (at 112). */
  readonly shiftY: number;
  /** Smile in [0, 1]: mouth corners up, mouth wider, teeth above 0.55. */
  readonly smile: number;
  /** Eye openness in [0.1, 1.15] (1 = neutral). */
  readonly eyeOpenness: number;
  /** Brow raise in pixels. */
  readonly browRaise: number;
  /** Direction the light comes from, radians. */
  readonly lightAngle: number;
  /** Strength of the directional light in [0, 1]. */
  readonly lightStrength: number;
  /** Background colour, RGB 0–255. */
  readonly background: readonly [number, number, number];
  /** Second background colour for a vertical gradient. */
  readonly background2: readonly [number, number, number];
  /** Blur amount in [0, 1] (blend with a 3x3 box blur). */
  readonly blur: number;
  /** Gaussian pixel noise, standard deviation in grey levels. */
  readonly noise: number;
  /** Seed of the noise pattern. */
  readonly noiseSeed: number;
  /** Glasses worn in this photo. */
  readonly glasses: boolean;
  /** Glasses shape in [0, 1]: round to rectangular. */
  readonly glassesShape: number;
  /** Glasses frame darkness in [0, 1]. */
  readonly glassesDarkness: number;
  /** Brightness offset in grey levels. */
  readonly brightness: number;
  /** Contrast gain. */
  readonly contrast: number;
  /** Per-channel colour cast gains (white balance). */
  readonly colourCast: readonly [number, number, number];
  /** Small per-photo shift of the hair parting in [−1, 1]. */
  readonly hairShift: number;
  /** Per-photo change of hair volume (styling), added to the trait. */
  readonly hairVolume: number;
  /** Per-photo hair brightness factor (light, wet or dry hair). */
  readonly hairTone: number;
}

/**
 * Draws an identity from `rng`: independent uniform traits, except facial hair and moles, which many people
 * lack (a continuous value that is 0 for about half of the identities).
 *
 * @example
 * ```ts
 * import { Rng } from "../util/random.ts";
 * import { sampleIdentity, SYNTHETIC_TRAITS } from "./synthetic_traits.ts";
 * const person = sampleIdentity(new Rng(1));
 * console.log(person.traits.length === SYNTHETIC_TRAITS.length); // true
 * ```
 */
export function sampleIdentity(rng: Rng): SyntheticIdentity {
  const traits = new Float64Array(SYNTHETIC_TRAITS.length);
  for (let i = 0; i < traits.length; i++) traits[i] = rng.uniform();
  const sparse = (name: TraitName, keep: number) => {
    const i = TRAIT_INDEX[name];
    traits[i] = Math.max(0, (traits[i] - (1 - keep)) / keep);
  };
  sparse("beard", 0.45);
  sparse("moustache", 0.45);
  sparse("moleSize", 0.6);
  sparse("stubble", 0.5);
  return { traits };
}

/**
 * Draws the nuisance of one photo from `rng`.
 *
 * @example
 * ```ts
 * import { Rng } from "../util/random.ts";
 * import { sampleNuisance } from "./synthetic_traits.ts";
 * const n = sampleNuisance(new Rng(2));
 * console.log(Math.abs(n.roll) <= 8); // true
 * ```
 */
export function sampleNuisance(rng: Rng): SyntheticNuisance {
  const clip = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
  const colour = (): [number, number, number] => {
    const base = rng.range(30, 230);
    const spread = rng.range(0, 70);
    return [0, 1, 2].map(() => clip(base + rng.range(-spread, spread), 0, 255)) as [number, number, number];
  };
  const blink = rng.chance(0.06);
  return {
    roll: clip(rng.normal(0, 3), -8, 8),
    yaw: clip(rng.normal(0, 0.4), -1, 1),
    pitch: clip(rng.normal(0, 0.4), -1, 1),
    scale: clip(rng.normal(1, 0.025), 0.93, 1.07),
    shiftX: clip(rng.normal(0, 0.8), -2.5, 2.5),
    shiftY: clip(rng.normal(0, 0.8), -2.5, 2.5),
    smile: Math.max(0, rng.range(-0.6, 1)),
    eyeOpenness: blink ? rng.range(0.1, 0.4) : rng.range(0.8, 1.15),
    browRaise: rng.range(-1, 2),
    lightAngle: rng.range(0, 2 * Math.PI),
    lightStrength: rng.range(0, 1),
    background: colour(),
    background2: colour(),
    blur: rng.chance(0.4) ? rng.range(0, 1) : 0,
    noise: rng.range(0, 7),
    noiseSeed: rng.nextUint32(),
    glasses: rng.chance(0.15),
    glassesShape: rng.uniform(),
    glassesDarkness: rng.uniform(),
    brightness: rng.normal(0, 10),
    contrast: clip(rng.normal(1, 0.1), 0.75, 1.25),
    colourCast: [rng.range(0.92, 1.08), rng.range(0.95, 1.05), rng.range(0.92, 1.08)],
    hairShift: rng.range(-1, 1),
    hairVolume: rng.range(-0.15, 0.15),
    hairTone: rng.range(0.85, 1.15),
  };
}

/**
 * The nuisance of a neutral, frontal, evenly lit photo (for illustrations and tests).
 *
 * @example
 * ```ts
 * import { NEUTRAL_NUISANCE } from "./synthetic_traits.ts";
 * console.log(NEUTRAL_NUISANCE.roll, NEUTRAL_NUISANCE.glasses); // 0 false
 * ```
 */
export const NEUTRAL_NUISANCE: SyntheticNuisance = {
  roll: 0,
  yaw: 0,
  pitch: 0,
  scale: 1,
  shiftX: 0,
  shiftY: 0,
  smile: 0,
  eyeOpenness: 1,
  browRaise: 0,
  lightAngle: 0,
  lightStrength: 0,
  background: [200, 200, 200],
  background2: [200, 200, 200],
  blur: 0,
  noise: 0,
  noiseSeed: 0,
  glasses: false,
  glassesShape: 0,
  glassesDarkness: 0,
  brightness: 0,
  contrast: 1,
  colourCast: [1, 1, 1],
  hairShift: 0,
  hairVolume: 0,
  hairTone: 1,
};

/** The two disjoint identity pools of a synthetic set. */
export type SyntheticSplit = "train" | "eval";

/** murmur3's 32-bit finaliser: a bijection on 32-bit integers that scrambles all bits. */
function mix32(value: number): number {
  let x = value >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/**
 * The seed of identity `identity` of `split` in a synthetic set seeded with `seed`. Within one `seed` the map
 * from (split, identity) to seed is one-to-one (training identities use indices below 2^31, evaluation
 * identities those above), so no two identities share a seed and training and evaluation people never
 * coincide.
 *
 * @example
 * ```ts
 * import { identitySeed } from "./synthetic_traits.ts";
 * console.log(identitySeed(0, "train", 3) !== identitySeed(0, "eval", 3)); // true
 * ```
 */
export function identitySeed(seed: number, split: SyntheticSplit, identity: number): number {
  if (!Number.isInteger(identity) || identity < 0 || identity >= 0x80000000) {
    throw new RangeError(`identity index ${identity} must be an integer in [0, 2^31)`);
  }
  const base = hashSeed(`maskinv/synthetic/${seed}`);
  const index = (split === "eval" ? 0x80000000 : 0) + identity;
  return mix32((base + Math.imul(index >>> 0, 0x9e3779b9)) >>> 0);
}

/**
 * The seed of photo `image` of identity `identity` (see {@linkcode identitySeed}).
 *
 * @example
 * ```ts
 * import { imageSeed } from "./synthetic_traits.ts";
 * console.log(imageSeed(0, "train", 3, 0) !== imageSeed(0, "train", 3, 1)); // true
 * ```
 */
export function imageSeed(seed: number, split: SyntheticSplit, identity: number, image: number): number {
  return mix32((identitySeed(seed, split, identity) ^ 0x5bd1e995) + Math.imul(image + 1, 0x27d4eb2f));
}
