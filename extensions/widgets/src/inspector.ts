// The inspector's front end: a twin's (or posterior's) parts, parameters with units and the gate's diagnostics.

interface Row {
  [key: string]: string | number | boolean | null;
}

interface Summary {
  title: string;
  parts: Row[];
  parameters: Row[];
  diagnostics: { ok: boolean; method: string; failures: string[]; table: Row[]; divergences: number };
}

interface Model {
  get(name: "summary"): Summary;
  on(event: string, callback: () => void): void;
  off(event: string, callback: () => void): void;
}

export function fmt(v: string | number | boolean | null | undefined): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "number") return String(Number(v.toPrecision(4)));
  return String(v);
}

export function table(rows: Row[], columns: [string, string][], testid: string): HTMLTableElement {
  const t = document.createElement("table");
  t.setAttribute("data-testid", testid);
  t.style.borderCollapse = "collapse";
  const head = t.createTHead().insertRow();
  for (const [, label] of columns) {
    const th = document.createElement("th");
    th.textContent = label;
    th.style.textAlign = "left";
    th.style.padding = "2px 8px";
    head.append(th);
  }
  const body = t.createTBody();
  for (const row of rows) {
    const tr = body.insertRow();
    for (const [key] of columns) {
      const td = tr.insertCell();
      td.textContent = fmt(row[key]);
      td.style.padding = "2px 8px";
    }
  }
  return t;
}

function render({ model, el }: { model: Model; el: HTMLElement }): () => void {
  const box = document.createElement("div");
  box.style.fontFamily = "sans-serif";
  box.style.fontSize = "13px";
  el.append(box);
  const draw = () => {
    const s = model.get("summary");
    const d = s.diagnostics;
    box.replaceChildren();
    const title = document.createElement("div");
    title.style.fontWeight = "bold";
    title.textContent = s.title;
    const gate = document.createElement("div");
    gate.setAttribute("data-testid", "gate");
    gate.style.color = d.ok ? "#2ca02c" : "#d62728";
    gate.textContent = d.ok
      ? `gate: passed (${d.method}, ${d.divergences} divergences)`
      : `gate: WITHHELD (${d.method}): ${d.failures.join("; ")}`;
    box.append(
      title,
      table(s.parts, [["part", "part"], ["value", ""]], "parts"),
      table(s.parameters, [["name", "parameter"], ["meaning", "meaning"], ["unit", "unit"], ["median", "median"],
        ["lo", "5%"], ["hi", "95%"]], "parameters"),
      gate,
    );
    if (d.table.length) {
      box.append(table(d.table, [["quantity", "quantity"], ["rhat", "R-hat"], ["ess_bulk", "ESS bulk"],
        ["ess_tail", "ESS tail"]], "diagnostics"));
    }
  };
  draw();
  model.on("change:summary", draw);
  return () => model.off("change:summary", draw);
}

export default { render };
