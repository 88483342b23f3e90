// Hugging Face PEFT's rules for which modules an adapter targets, in one place: the language's
// checks (src/dsl/modules.ts) and the weight I/O (src/runtime/io/) both call these, so a selector
// checked in a .peft file picks the same modules as the adapter_config.json written for it.
// Plain string logic: nothing here imports TensorFlow.js.
//
//   target_modules as a string    a regular expression that must match the WHOLE module path
//   target_modules as a list      an entry matches a path equal to it or ending in `.entry`
//   exclude_modules               the same forms; a path it matches is never targeted (exclude wins)
//   rank_pattern / alpha_pattern  a key (a regex) matches a path as `(.*\.)?(key)$`; first key wins

/** PEFT's target_modules / exclude_modules: one full-match regex, or a list of names. */
export type ModuleList = string | readonly string[];

const regexCache = new Map<string, RegExp | null>();

/** `source` compiled to match a whole path, or null when it is not a valid regular expression. */
export function fullMatchRegex(source: string): RegExp | null {
  let re = regexCache.get(source);
  if (re === undefined) {
    try {
      re = new RegExp(`^(?:${source})$`);
    } catch {
      re = null;
    }
    if (regexCache.size > 10_000) regexCache.clear();
    regexCache.set(source, re);
  }
  return re;
}

/** Why `source` is not a valid regular expression, or null when it is. */
export function regexError(source: string): string | null {
  try {
    new RegExp(`^(?:${source})$`);
    return null;
  } catch (err) {
    return err instanceof Error ? err.message.replace(/^Invalid regular expression: /, "") : String(err);
  }
}

/** A list entry's rule: `path` equals `name` or ends with `.name` (never a bare substring). */
export function matchesName(path: string, name: string): boolean {
  return path === name || (path.length > name.length && path.endsWith(name) && path.charCodeAt(path.length - name.length - 1) === 46);
}

/** True when `modules` picks `path`: the string full-matches as a regex, or an entry matches by name. */
export function matchesTargetModules(modules: ModuleList, path: string): boolean {
  if (typeof modules === "string") return fullMatchRegex(modules)?.test(path) ?? false;
  return modules.some((name) => matchesName(path, name));
}

/** The paths `target` picks and `exclude` (if any) does not, in input order. */
export function selectTargets(paths: readonly string[], target: ModuleList, exclude: ModuleList | null): string[] {
  return paths.filter((p) => matchesTargetModules(target, p) && !(exclude !== null && matchesTargetModules(exclude, p)));
}

/** The rank/alpha pattern rule: `key` (a regex) matches `path` as `(.*\.)?(key)$` from the start. */
export function patternMatches(key: string, path: string): boolean {
  return fullMatchRegex(`(?:.*\\.)?(?:${key})`)?.test(path) ?? false;
}

/** The value of the first key of `pattern` (in insertion = file order) that matches `path`, else `fallback`. */
export function resolvePattern(pattern: Readonly<Record<string, number>>, path: string, fallback: number): number {
  for (const [key, value] of Object.entries(pattern)) if (patternMatches(key, path)) return value;
  return fallback;
}
