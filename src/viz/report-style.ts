// The report's stylesheet: system fonts only (works offline), readable tables, print-friendly.

export const REPORT_CSS = `
:root { --fg:#1f2937; --muted:#6b7280; --line:#e5e7eb; --bg:#ffffff; --soft:#f9fafb; --accent:#0072B2;
  --good:#047857; --good-bg:#d1fae5; --bad:#b91c1c; --bad-bg:#fee2e2; --warn-bg:#fffbeb; --warn-line:#f59e0b; }
* { box-sizing: border-box; }
html { font-size: 15px; }
body { margin: 0; color: var(--fg); background: var(--bg); line-height: 1.5;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1120px; margin: 0 auto; padding: 32px 28px 80px; }
header.top { border-bottom: 1px solid var(--line); padding-bottom: 16px; margin-bottom: 8px; }
h1 { font-size: 1.9rem; margin: 0 0 4px; letter-spacing: -0.01em; }
h2 { font-size: 1.4rem; margin: 48px 0 12px; padding-top: 8px; border-top: 1px solid var(--line); }
h3 { font-size: 1.1rem; margin: 28px 0 8px; }
p, li { max-width: 80ch; }
.muted { color: var(--muted); }
.small { font-size: 0.85rem; }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: 0.85rem; }
pre { background: var(--soft); border: 1px solid var(--line); border-radius: 6px; padding: 12px 14px; overflow: auto; max-height: 480px; }
nav.toc { background: var(--soft); border: 1px solid var(--line); border-radius: 8px; padding: 12px 20px; margin: 20px 0; }
nav.toc ol { margin: 4px 0; padding-left: 20px; columns: 2; column-gap: 32px; }
nav.toc a { color: var(--accent); text-decoration: none; }
nav.toc a:hover { text-decoration: underline; }
.stats { display: flex; flex-wrap: wrap; gap: 12px; margin: 16px 0 0; }
.stat { border: 1px solid var(--line); border-radius: 8px; padding: 8px 14px; min-width: 120px; }
.stat b { display: block; font-size: 1.3rem; }
.stat span { color: var(--muted); font-size: 0.8rem; text-transform: uppercase; letter-spacing: 0.04em; }
.problems { background: var(--warn-bg); border: 1px solid var(--warn-line); border-left-width: 4px; border-radius: 6px; padding: 10px 16px; margin: 16px 0; }
.problems h3 { margin: 0 0 4px; font-size: 1rem; }
.problems ul { margin: 4px 0; padding-left: 20px; }
.table-wrap { overflow-x: auto; margin: 8px 0 16px; }
table { border-collapse: collapse; width: 100%; font-size: 0.9rem; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--soft); font-weight: 600; white-space: nowrap; }
tbody th { background: transparent; font-weight: 500; color: var(--muted); }
thead th { white-space: nowrap; }
td:first-child, th:first-child { white-space: nowrap; }
td.num, th.num { text-align: right; white-space: nowrap; }
tbody tr:hover { background: #f3f4f6; }
td .ci { display: block; color: var(--muted); font-size: 0.78rem; }
td.pre { white-space: pre-wrap; word-break: break-word; max-width: 32rem; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 6px; vertical-align: baseline; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 0.78rem; font-weight: 600; white-space: nowrap; }
.badge.better { background: var(--good-bg); color: var(--good); }
.badge.worse { background: var(--bad-bg); color: var(--bad); }
.badge.ns, .badge.na { background: #f3f4f6; color: var(--muted); }
.badge.failed { background: var(--bad-bg); color: var(--bad); }
.badge.ok { background: var(--good-bg); color: var(--good); }
.figure { border: 1px solid var(--line); border-radius: 8px; padding: 8px; margin: 16px 0; background: #fff; }
.figure .caption { color: var(--muted); font-size: 0.85rem; padding: 4px 8px 2px; }
.peftlab-plot { width: 100%; }
.grid2 { display: grid; grid-template-columns: 1fr 1fr; gap: 0 16px; }
.grid2 .figure { margin: 8px 0; }
@media (max-width: 900px) { .grid2 { grid-template-columns: 1fr; } nav.toc ol { columns: 1; } }
details { margin: 8px 0; }
details summary { cursor: pointer; color: var(--accent); }
dl.kv { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 8px 0; }
dl.kv dt { color: var(--muted); }
dl.kv dd { margin: 0; }
footer { margin-top: 48px; color: var(--muted); font-size: 0.8rem; border-top: 1px solid var(--line); padding-top: 12px; }
@media print { nav.toc { display: none; } .figure { break-inside: avoid; } pre { max-height: none; } }
`;
