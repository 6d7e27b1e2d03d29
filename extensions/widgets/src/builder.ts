// The twin builder's front end: template, person, data, parts and parameter forms (units, bounds); "build" asks
// Python to build the twin, which sends back the code it ran and its status; "insert as a cell" asks JupyterLab
// (twinlab's extension, which listens for INSERT_EVENT) to put that code in a new cell below the widget's cell.

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
  minutes: number;
  seed: number;
  values: Record<string, number>;
  free: string[];
  n_particles: number;
}

interface Model {
  get(name: "templates"): Record<string, [string, string]>;
  get(name: "patients"): string[];
  get(name: "form"): Spec[];
  get(name: "defaults"): Record<string, number>;
  get(name: "choice"): Choice;
  get(name: "code" | "status"): string;
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

  const minutes = make("input", { type: "number", min: "60", max: "10080", step: "60", "data-testid": "minutes" });
  minutes.value = String(choice.minutes);
  minutes.addEventListener("change", () => update({ minutes: Number(minutes.value) }));

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
  const status = make("div", { "data-testid": "status" });
  const insert = make("button", { "data-testid": "insert-cell" }, "insert as a cell");
  const note = make("div", { "data-testid": "insert-note" });
  insert.addEventListener("click", () => {
    note.textContent = requestInsert(el, model.get("code")) ? "inserted below" : NOT_INSERTED;
  });
  const code = make("pre", { "data-testid": "code", style: "background: #f5f5f5; padding: 6px;" });
  const row = (label: string, node: HTMLElement) => {
    const r = make("label", {}, `${label} `);
    r.append(node);
    return r;
  };
  box.append(
    row("template", template), row("virtual person", person), row("minutes of simulated data", minutes),
    make("div", { style: "font-weight: bold" }, "parameters (value, unit [bounds], learn)"), params,
    build, status, insert, note, code,
  );
  const show = () => {
    status.textContent = model.get("status");
    code.textContent = model.get("code");
    insert.disabled = model.get("code").trim() === "";
  };
  show();
  model.on("change:status", show);
  model.on("change:code", show);
  return () => {
    model.off("change:status", show);
    model.off("change:code", show);
  };
}

export default { render };
