/**
 * Escaping text for HTML, shared by every module that writes HTML (tables, reports, notebook fallbacks).
 *
 * @module
 */

/**
 * Escapes `&`, `<`, `>` and `"` so `text` is safe in HTML element content and in double-quoted attributes.
 *
 * @example
 * ```ts
 * import { escapeHtml } from "./html.ts";
 * console.log(escapeHtml(`<b title="x">&</b>`)); // &lt;b title=&quot;x&quot;&gt;&amp;&lt;/b&gt;
 * ```
 */
export function escapeHtml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll(
    '"',
    "&quot;",
  );
}
