/**
 * Atomic file writes: write a temporary file beside the target, flush it, then rename it over the target.
 * A crash at any moment leaves either the old file or the new one, never a torn mixture.
 *
 * @module
 */

/**
 * Writes `data` to `path` atomically (temp file in the same directory, fsync, rename).
 *
 * @param path Destination file.
 * @param data The complete new contents.
 * @throws {Error} Naming `path` when the write fails (disk full, permissions); the old file is untouched.
 * @example
 * ```ts
 * import { writeFileAtomic } from "./atomic.ts";
 * const dir = await Deno.makeTempDir();
 * await writeFileAtomic(`${dir}/a.bin`, new Uint8Array([1, 2, 3]));
 * console.log((await Deno.readFile(`${dir}/a.bin`)).length); // 3
 * ```
 */
export async function writeFileAtomic(path: string, data: Uint8Array): Promise<void> {
  const slash = path.lastIndexOf("/");
  const dir = slash >= 0 ? path.slice(0, slash) || "/" : ".";
  const base = slash >= 0 ? path.slice(slash + 1) : path;
  const temp = `${dir}/.${base}.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  try {
    const file = await Deno.open(temp, { write: true, createNew: true });
    try {
      let written = 0;
      while (written < data.length) written += await file.write(data.subarray(written));
      await file.sync();
    } finally {
      file.close();
    }
    await Deno.rename(temp, path);
  } catch (error) {
    await Deno.remove(temp).catch(() => {});
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`could not write ${path}: ${reason} (the previous file, if any, is unchanged)`, {
      cause: error,
    });
  }
}

/**
 * Writes `text` (UTF-8) to `path` atomically; see {@linkcode writeFileAtomic}.
 *
 * @example
 * ```ts
 * import { writeTextFileAtomic } from "./atomic.ts";
 * const dir = await Deno.makeTempDir();
 * await writeTextFileAtomic(`${dir}/r.json`, JSON.stringify({ eer: 0.1 }));
 * ```
 */
export async function writeTextFileAtomic(path: string, text: string): Promise<void> {
  await writeFileAtomic(path, new TextEncoder().encode(text));
}
