// Escaping for HTML text, attributes and inline <script> content.

const ENTITIES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

/**
 * JSON that is safe inside an inline `<script>`: `<`, `>` and `&` (only ever inside JSON strings)
 * and the JS line separators become \u escapes, so no `</script>` or `<!--` can appear.
 */
export function jsonForScript(value: unknown, indent?: number): string {
  const json = JSON.stringify(value, null, indent);
  if (json === undefined) throw new TypeError("jsonForScript: value is not JSON-serialisable");
  return json
    .replace(/</g, "\\u003c")
    .replace(/>/g, "\\u003e")
    .replace(/&/g, "\\u0026")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

/**
 * JavaScript source made safe to inline in `<script>`: `</script` and `<!--` cannot end or
 * re-mode the element. Both only occur inside string or regex literals in real code, where
 * `<\/` and `<\!` mean the same characters.
 */
export function scriptSafe(js: string): string {
  return js.replace(/<\/(script)/gi, "<\\/$1").replace(/<!--/g, "<\\!--");
}
