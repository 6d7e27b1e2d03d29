// The twin builder's front end: template, person, data, parts and parameter forms (units, bounds), a dosing policy
// behind a safety layer and a learned part; "build" asks Python to build the twin (and those parts), which sends back
// the code it ran, its status, the policy's dose now and the learned part's held-out score; "insert as a cell" asks JupyterLab (twinlab's extension, which listens
// for INSERT_EVENT) to put that code in a new cell below the widget's cell.

/** The DOM event twinlab's JupyterLab extension answers by inserting `detail.code` as a cell (and cancelling it). */
export const INSERT_EVENT = "twinlab:insert-cell";
export const NOT_INSERTED =
  "no JupyterLab with twinlab's extension answered: copy the code below into a cell instead";

interface Spec {
  name: string;
  label: string;
  unit: string;
  min: number;
  max: number;
  step: number;
}

interface Choice {
  template: string;
  patient: string;
  data: string;
  minutes: number;
  seed: number;
  values: Record<string, number>;
  free: string[];
  n_particles: number;
  policy: string;
  age_group: string;
  meal_g: number;
  learned: string;
  learn_steps: number;
}

/** The learned part's outcome (`twinlab.ui._parts.learned_summary`). */
export interface LearnedResult {
  steps: number;
  loss_first: number;
  loss_last: number;
  held_out_min: number;
  base_rmse_mg_dl: number;
  hybrid_rmse_mg_dl: number;
  text: string;
}

/** The policy's dose at the newest reading (`tl.control.Recommendation.to_dict` plus a one-line `text`). */
export interface Recommendation {
  minute: number;
  meal_g: number;
  glucose_mg_dl: number;
  iob_u: number;
  requested_basal_u_per_h: number;
  delivered_basal_u_per_h: number;
  requested_bolus_u: number;
  delivered_bolus_u: number;
  reasons: string[];
  text: string;
}

/** The composition the Python side derives from the choice (`twinlab.ui._builder.composition`). */
export interface Composition {
  nodes: { id: string; part: string; label: string; column: number }[];
  edges: [string, string][];
}

interface Model {
  get(name: "templates" | "policies" | "learned_parts"): Record<string, [string, string]>;
  get(name: "learn_steps_bounds"): [number, number];
  get(name: "learned_result"): LearnedResult | Record<string, never>;
  get(name: "age_groups"): Record<string, [number, number, number]>;
  get(name: "max_meal_g"): number;
  get(name: "recommendation"): Recommendation | Record<string, never>;
  get(name: "patients" | "sources"): string[];
  get(name: "form"): Spec[];
  get(name: "defaults"): Record<string, number>;
  get(name: "choice"): Choice;
  get(name: "code" | "status"): string;
  get(name: "graph"): Composition;
  set(name: "choice", value: Choice): void;
  save_changes(): void;
  send(content: object): void;
  on(event: string, callback: () => void): void;
  off(event: string, callback: () => void): void;
}

function make<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text = ""): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text) node.textContent = text;
  return node;
}

/** Ask the page to insert `code` as a cell below `from`'s cell; true if a listener did (it cancels the event). */
export function requestInsert(from: HTMLElement, code: string): boolean {
  const event = new CustomEvent(INSERT_EVENT, { bubbles: true, cancelable: true, detail: { code } });
  return !from.dispatchEvent(event);
}

const SVG = "http://www.w3.org/2000/svg";
const BOX = { width: 270, height: 46, gapX: 40, gapY: 12 };

/** Box positions: columns left to right, nodes of a column top to bottom in the given order. */
export function layout(graph: Composition): Record<string, { x: number; y: number }> {
  const rows: Record<number, number> = {};
  const out: Record<string, { x: number; y: number }> = {};
  const columnHeight = (c: number) => graph.nodes.filter((n) => n.column === c).length;
  const tallest = Math.max(1, ...graph.nodes.map((n) => columnHeight(n.column)));
  for (const n of graph.nodes) {
    const row = rows[n.column] ?? 0;
    rows[n.column] = row + 1;
    const offset = ((tallest - columnHeight(n.column)) * (BOX.height + BOX.gapY)) / 2; // centre short columns
    out[n.id] = { x: 4 + n.column * (BOX.width + BOX.gapX), y: 4 + offset + row * (BOX.height + BOX.gapY) };
  }
  return out;
}

function svgEl(tag: string, attrs: Record<string, string>, text = ""): SVGElement {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text) node.textContent = text;
  return node;
}

function drawComposition(svg: SVGSVGElement, graph: Composition): void {
  svg.replaceChildren();
  const at = layout(graph);
  const columns = Math.max(0, ...graph.nodes.map((n) => n.column)) + 1;
  const bottom = Math.max(0, ...Object.values(at).map((p) => p.y)) + BOX.height + 4;
  svg.setAttribute("width", String(columns * (BOX.width + BOX.gapX)));
  svg.setAttribute("height", String(bottom));
  const marker = svgEl("marker", { id: "twinlab-arrow", viewBox: "0 0 10 10", refX: "10", refY: "5",
    markerWidth: "6", markerHeight: "6", orient: "auto-start-reverse" });
  marker.append(svgEl("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: "#555" }));
  const defs = svgEl("defs", {});
  defs.append(marker);
  svg.append(defs);
  for (const [from, to] of graph.edges) {
    const a = at[from], b = at[to];
    if (!a || !b) continue;
    svg.append(svgEl("line", {
      x1: String(a.x + BOX.width), y1: String(a.y + BOX.height / 2), x2: String(b.x), y2: String(b.y + BOX.height / 2),
      stroke: "#555", "marker-end": "url(#twinlab-arrow)", "data-testid": `edge-${from}-${to}`,
    }));
  }
  for (const n of graph.nodes) {
    const p = at[n.id];
    const g = svgEl("g", { "data-testid": `part-${n.id}` });
    g.append(svgEl("rect", { x: String(p.x), y: String(p.y), width: String(BOX.width), height: String(BOX.height),
      rx: "5", fill: "#eef4fb", stroke: "#4a78a8" }));
    g.append(svgEl("text", { x: String(p.x + 6), y: String(p.y + 16), "font-weight": "bold", "font-size": "12" }, n.part));
    const label = n.label.length > 44 ? `${n.label.slice(0, 43)}…` : n.label; // the whole label is the tooltip
    g.append(svgEl("text", { x: String(p.x + 6), y: String(p.y + 34), "font-size": "11" }, label));
    g.append(svgEl("title", {}, `${n.part}: ${n.label}`));
    svg.append(g);
  }
}

/** Rows of the dose table: [what, asked for, let through, unit]; empty without a recommendation. */
export function doseRows(rec: Recommendation | Record<string, never>): [string, string, string, string][] {
  if (!("minute" in rec)) return [];
  const f = (x: number) => x.toFixed(2);
  return [
    ["basal", f(rec.requested_basal_u_per_h), f(rec.delivered_basal_u_per_h), "U/h"],
    ["bolus", f(rec.requested_bolus_u), f(rec.delivered_bolus_u), "U"],
  ];
}

/** What the safety layer did: its clamps by name, or that the request passed unchanged. */
export function clampText(rec: Recommendation | Record<string, never>): string {
  if (!("minute" in rec)) return "";
  return rec.reasons.length ? `safety layer: ${rec.reasons.join(", ")}` : "safety layer: passed unchanged";
}

/** The limits an age group's safety layer enforces, for the form's label. */
export function limitsText(limits: [number, number, number] | undefined): string {
  if (!limits) return "";
  const [basal, bolus, iob] = limits;
  return `≤ ${basal} U/h basal, ≤ ${bolus} U bolus, ≤ ${iob} U on board`;
}

/** The learned part's held-out comparison as table rows: [model, RMSE against the held-out readings]. */
export function learnedRows(res: LearnedResult | Record<string, never>): [string, string][] {
  if (!("steps" in res)) return [];
  return [
    ["base model (the twin's parameters)", `${res.base_rmse_mg_dl.toFixed(1)} mg/dL`],
    [`hybrid after ${res.steps} steps`, `${res.hybrid_rmse_mg_dl.toFixed(1)} mg/dL`],
  ];
}

export function withChange(choice: Choice, change: Partial<Choice>): Choice {
  return { ...choice, ...change, values: { ...choice.values, ...(change.values ?? {}) } };
}

function render({ model, el }: { model: Model; el: HTMLElement }): () => void {
  const box = make("div", { style: "font-family: sans-serif; font-size: 13px; display: grid; gap: 6px;" });
  el.append(box);
  const update = (change: Partial<Choice>) => {
    model.set("choice", withChange(model.get("choice"), change));
    model.save_changes();
  };
  const choice = model.get("choice");

  const template = make("select", { "data-testid": "template" });
  for (const [id, [label]] of Object.entries(model.get("templates"))) {
    const o = make("option", { value: id }, label);
    template.append(o);
  }
  template.value = choice.template;
  template.addEventListener("change", () => update({ template: template.value }));

  const person = make("select", { "data-testid": "patient" });
  for (const p of model.get("patients")) person.append(make("option", { value: p }, p));
  person.value = choice.patient;
  person.addEventListener("change", () => update({ patient: person.value }));

  const source = make("select", { "data-testid": "data" });
  for (const d of model.get("sources") ?? ["simulated"]) source.append(make("option", { value: d }, d));
  source.value = choice.data ?? "simulated";
  source.addEventListener("change", () => update({ data: source.value }));

  const minutes = make("input", { type: "number", min: "60", max: "10080", step: "60", "data-testid": "minutes" });
  minutes.value = String(choice.minutes);
  minutes.addEventListener("change", () => update({ minutes: Number(minutes.value) }));

  const policy = make("select", { "data-testid": "policy" });
  for (const [id, [label, about]] of Object.entries(model.get("policies") ?? { none: ["none", ""] })) {
    policy.append(make("option", { value: id, title: about }, label));
  }
  policy.value = choice.policy ?? "none";
  const ageGroups = model.get("age_groups") ?? {};
  const age = make("select", { "data-testid": "age-group" });
  for (const g of Object.keys(ageGroups)) age.append(make("option", { value: g }, g));
  age.value = choice.age_group ?? "adult";
  const limits = make("span", { "data-testid": "limits" }, limitsText(ageGroups[age.value]));
  const meal = make("input", { type: "number", min: "0", max: String(model.get("max_meal_g") ?? 300), step: "5",
    "data-testid": "meal" });
  meal.value = String(choice.meal_g ?? 0);
  const policyOn = () => {
    const off = policy.value === "none";
    age.disabled = off;
    meal.disabled = off;
  };
  policy.addEventListener("change", () => { policyOn(); update({ policy: policy.value }); });
  age.addEventListener("change", () => {
    limits.textContent = limitsText(ageGroups[age.value]);
    update({ age_group: age.value });
  });
  meal.addEventListener("change", () => update({ meal_g: Number(meal.value) }));
  policyOn();

  const learned = make("select", { "data-testid": "learned" });
  for (const [id, [label, about]] of Object.entries(model.get("learned_parts") ?? { none: ["none", ""] })) {
    learned.append(make("option", { value: id, title: about }, label));
  }
  learned.value = choice.learned ?? "none";
  const [minSteps, maxSteps] = model.get("learn_steps_bounds") ?? [1, 2000];
  const steps = make("input", { type: "number", min: String(minSteps), max: String(maxSteps), step: "1",
    "data-testid": "learn-steps" });
  steps.value = String(choice.learn_steps ?? 30);
  const learnedOn = () => { steps.disabled = learned.value === "none"; };
  learned.addEventListener("change", () => { learnedOn(); update({ learned: learned.value }); });
  steps.addEventListener("change", () => update({ learn_steps: Number(steps.value) }));
  learnedOn();

  const params = make("div", { style: "display: grid; grid-template-columns: 260px 140px 170px 60px; gap: 2px 8px;" });
  const defaults = model.get("defaults");
  for (const s of model.get("form")) {
    const input = make("input", {
      type: "number", min: String(s.min), max: String(s.max), step: "any", "data-testid": `param-${s.name}`,
    });
    input.value = String(choice.values[s.name] ?? defaults[s.name]);
    input.addEventListener("change", () => update({ values: { [s.name]: Number(input.value) } }));
    const learn = make("input", { type: "checkbox", "data-testid": `learn-${s.name}` });
    learn.checked = choice.free.includes(s.name);
    learn.addEventListener("change", () => {
      const free = model.get("choice").free.filter((f) => f !== s.name);
      update({ free: learn.checked ? [...free, s.name] : free });
    });
    params.append(
      make("span", {}, s.label), input,
      make("span", {}, `${s.unit} [${s.min.toPrecision(3)}, ${s.max.toPrecision(3)}]`), learn,
    );
  }

  const build = make("button", { "data-testid": "build" }, "build");
  build.addEventListener("click", () => model.send({ type: "build" }));
  const graph = document.createElementNS(SVG, "svg") as SVGSVGElement;
  graph.setAttribute("data-testid", "composition");
  const status = make("div", { "data-testid": "status" });
  const insert = make("button", { "data-testid": "insert-cell" }, "insert as a cell");
  const note = make("div", { "data-testid": "insert-note" });
  insert.addEventListener("click", () => {
    note.textContent = requestInsert(el, model.get("code")) ? "inserted below" : NOT_INSERTED;
  });
  const code = make("pre", { "data-testid": "code", style: "background: #f5f5f5; padding: 6px;" });
  const dose = make("div", { "data-testid": "dose" });
  const fitted = make("div", { "data-testid": "learned-result" });
  const row = (label: string, node: HTMLElement) => {
    const r = make("label", {}, `${label} `);
    r.append(node);
    return r;
  };
  const limitsRow = row("safety limits", age);
  limitsRow.append(" ", limits);
  box.append(
    row("template", template), row("virtual person", person), row("data source", source),
    row("minutes of data", minutes),
    make("div", { style: "font-weight: bold" }, "parameters (value, unit [bounds], learn)"), params,
    make("div", { style: "font-weight: bold" }, "policy (doses behind a safety layer)"),
    row("policy", policy), limitsRow, row("meal announced now (g)", meal),
    make("div", { style: "font-weight: bold" }, "learned part (fitted to the record, beside the twin)"),
    row("learned part", learned), row("training steps", steps),
    make("div", { style: "font-weight: bold" }, "composition"), graph,
    build, status, dose, fitted, insert, note, code,
  );
  const showDose = () => {
    const rec = model.get("recommendation") ?? {};
    dose.replaceChildren();
    if (!("minute" in rec)) return;
    dose.append(make("div", { "data-testid": "dose-text" }, rec.text));
    const table = make("table", { "data-testid": "dose-table" });
    const head = make("tr", {});
    for (const h of ["", "asked for", "let through", ""]) head.append(make("th", {}, h));
    table.append(head);
    for (const cells of doseRows(rec)) {
      const tr = make("tr", {});
      for (const c of cells) tr.append(make("td", {}, c));
      table.append(tr);
    }
    dose.append(table, make("div", { "data-testid": "clamps" }, clampText(rec)));
  };
  const showLearned = () => {
    const res = model.get("learned_result") ?? {};
    fitted.replaceChildren();
    if (!("steps" in res)) return;
    const table = make("table", { "data-testid": "learned-table" });
    for (const cells of learnedRows(res)) {
      const tr = make("tr", {});
      for (const c of cells) tr.append(make("td", {}, c));
      table.append(tr);
    }
    fitted.append(make("div", { "data-testid": "learned-text" }, res.text), table);
  };
  const show = () => {
    status.textContent = model.get("status");
    code.textContent = model.get("code");
    insert.disabled = model.get("code").trim() === "";
    showDose();
    showLearned();
  };
  const redraw = () => drawComposition(graph, model.get("graph") ?? { nodes: [], edges: [] });
  show();
  redraw();
  model.on("change:status", show);
  model.on("change:code", show);
  model.on("change:recommendation", show);
  model.on("change:learned_result", show);
  model.on("change:graph", redraw);
  return () => {
    model.off("change:status", show);
    model.off("change:code", show);
    model.off("change:recommendation", show);
    model.off("change:learned_result", show);
    model.off("change:graph", redraw);
  };
}

export default { render };
