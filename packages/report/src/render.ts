import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/**
 * Vega-Lite → Vega → SVG in Node, headless: the 'none' renderer builds the scenegraph and
 * toSVG() serialises it, so neither a browser nor a canvas is needed. Text widths are estimated
 * (no canvas to measure with), which is close enough for axis and legend layout.
 */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const quiet = vega.logger(vega.Error);
  const vgSpec = compile(spec, { logger: quiet }).spec;
  const view = new vega.View(vega.parse(vgSpec), { renderer: 'none', logger: quiet });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/**
 * Vega numbers its clip paths clip1, clip2… in every SVG it writes; inlined side by side in one
 * page, the second figure would clip against the first one's rectangles. Prefix every id.
 */
export function prefixSvgIds(svg: string, prefix: string): string {
  const ids = new Set<string>();
  for (const m of svg.matchAll(/\sid="([^"]+)"/g)) ids.add(m[1]);
  if (ids.size === 0) return svg;
  return svg
    .replace(/\sid="([^"]+)"/g, (_, id: string) => ` id="${prefix}-${id}"`)
    .replace(/url\(#([^)]+)\)/g, (all, id: string) => (ids.has(id) ? `url(#${prefix}-${id})` : all))
    .replace(/href="#([^"]+)"/g, (all, id: string) => (ids.has(id) ? `href="#${prefix}-${id}"` : all));
}
