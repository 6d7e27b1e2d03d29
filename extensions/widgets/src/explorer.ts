// The parameter explorer's front end: one slider per parameter (with its unit), the simulated glucose as a line.
// Python owns the simulation; this side only sends slider values and draws the curve it receives (traitlets are
// the only channel).

interface ParameterSpec {
  name: string;
  label: string;
  unit: string;
  min: number;
  max: number;
  step: number;
}

interface Curve {
  minute: number[];
  bg_mg_dl: number[];
}

interface Model {
  get(name: "spec"): ParameterSpec[];
  get(name: "values"): Record<string, number>;
  get(name: "curve"): Curve;
  get(name: "title"): string;
  set(name: "values", value: Record<string, number>): void;
  save_changes(): void;
  on(event: string, callback: () => void): void;
  off(event: string, callback: () => void): void;
}

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 640;
const HEIGHT = 280;
const PAD = 40;
const TARGET_MG_DL: [number, number] = [70, 180];

export function formatValue(value: number): string {
  return String(Number(value.toPrecision(4))); // four significant digits, no trailing zeros
}

export function scale(domain: [number, number], range: [number, number]): (x: number) => number {
  const [d0, d1] = domain;
  const [r0, r1] = range;
  const span = d1 - d0 || 1;
  return (x: number) => r0 + ((x - d0) / span) * (r1 - r0);
}

export function polylinePoints(curve: Curve, yDomain: [number, number]): string {
  const n = curve.minute.length;
  if (n === 0) return "";
  const x = scale([curve.minute[0], curve.minute[n - 1]], [PAD, WIDTH - 10]);
  const y = scale(yDomain, [HEIGHT - PAD, 10]);
  return curve.minute.map((m, i) => `${x(m).toFixed(1)},${y(curve.bg_mg_dl[i]).toFixed(1)}`).join(" ");
}

function yDomainOf(curve: Curve): [number, number] {
  const hi = Math.max(250, ...curve.bg_mg_dl);
  return [Math.min(40, ...curve.bg_mg_dl), hi];
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

function svgEl(tag: string, attrs: Record<string, string>): SVGElement {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

function render({ model, el: root }: { model: Model; el: HTMLElement }): () => void {
  const box = el("div", { class: "twinlab-explorer", style: "font-family: sans-serif; font-size: 13px;" });
  const title = el("div", { style: "font-weight: bold; margin-bottom: 6px;" });
  const sliders = el("div", { style: "display: grid; grid-template-columns: 220px 260px 120px; gap: 4px 8px;" });
  const svg = svgEl("svg", { width: String(WIDTH), height: String(HEIGHT), "data-testid": "explorer-plot" });
  const band = svgEl("rect", { fill: "#2ca02c", "fill-opacity": "0.08" });
  const line = svgEl("polyline", { fill: "none", stroke: "#1f77b4", "stroke-width": "2", "data-testid": "explorer-curve" });
  const yLabel = svgEl("text", { x: "4", y: "14", "font-size": "11" });
  yLabel.textContent = "glucose (mg/dL)";
  svg.append(band, line, yLabel);
  box.append(title, sliders, svg);
  root.append(box);

  const inputs = new Map<string, { input: HTMLInputElement; shown: HTMLElement }>();
  const values = model.get("values");
  for (const p of model.get("spec")) {
    const label = el("label", { for: `twinlab-${p.name}` });
    label.textContent = `${p.label} (${p.unit})`;
    const input = el("input", {
      type: "range", id: `twinlab-${p.name}`, min: String(p.min), max: String(p.max), step: String(p.step),
      "data-testid": `slider-${p.name}`,
    });
    input.value = String(values[p.name]);
    const shown = el("span", { "data-testid": `value-${p.name}` });
    shown.textContent = formatValue(values[p.name]);
    input.addEventListener("input", () => {
      const next = { ...model.get("values"), [p.name]: Number(input.value) };
      shown.textContent = formatValue(Number(input.value));
      model.set("values", next);
      model.save_changes();
    });
    sliders.append(label, input, shown);
    inputs.set(p.name, { input, shown });
  }

  const draw = () => {
    const curve = model.get("curve");
    title.textContent = model.get("title");
    const yDomain = yDomainOf(curve);
    const y = scale(yDomain, [HEIGHT - PAD, 10]);
    band.setAttribute("x", String(PAD));
    band.setAttribute("width", String(WIDTH - 10 - PAD));
    band.setAttribute("y", String(y(TARGET_MG_DL[1])));
    band.setAttribute("height", String(y(TARGET_MG_DL[0]) - y(TARGET_MG_DL[1])));
    line.setAttribute("points", polylinePoints(curve, yDomain));
    const n = curve.bg_mg_dl.length;
    svg.setAttribute("data-last-mg-dl", n ? curve.bg_mg_dl[n - 1].toFixed(3) : "");
  };
  const syncValues = () => {
    const v = model.get("values");
    for (const [name, { input, shown }] of inputs) {
      input.value = String(v[name]);
      shown.textContent = formatValue(v[name]);
    }
  };
  draw();
  model.on("change:curve", draw);
  model.on("change:values", syncValues);
  return () => {
    model.off("change:curve", draw);
    model.off("change:values", syncValues);
  };
}

export default { render };
