import { describe, expect, it } from "vitest";

import {
  INSERT_EVENT, clampText, doseRows, layout, learnedRows, limitsText, requestInsert, withChange,
} from "../src/builder";
import { formatValue, polylinePoints, scale } from "../src/explorer";
import { fmt } from "../src/inspector";

describe("explorer", () => {
  it("shows four significant digits without trailing zeros", () => {
    expect(formatValue(0.051)).toBe("0.051");
    expect(formatValue(0.0512345)).toBe("0.05123");
    expect(formatValue(123456)).toBe("123500");
    expect(formatValue(0)).toBe("0");
  });

  it("maps a domain linearly onto a range, inverted axes included", () => {
    const y = scale([40, 400], [240, 10]);
    expect(y(40)).toBe(240);
    expect(y(400)).toBe(10);
    expect(y(220)).toBeCloseTo(125);
    expect(scale([5, 5], [0, 100])(5)).toBe(0); // an empty domain does not divide by zero
  });

  it("draws one point per minute, first minute at the left edge", () => {
    const pts = polylinePoints({ minute: [0, 60, 120], bg_mg_dl: [100, 200, 150] }, [40, 250]).split(" ");
    expect(pts).toHaveLength(3);
    expect(pts[0].startsWith("40.0,")).toBe(true);
    expect(polylinePoints({ minute: [], bg_mg_dl: [] }, [40, 250])).toBe("");
  });
});

describe("builder", () => {
  it("merges a change into the choice without losing other parameter values", () => {
    const choice = { template: "fixed", patient: "adult#001", data: "simulated", minutes: 240, seed: 0,
      values: { Vmx: 0.05 }, free: ["Vmx"], n_particles: 256, policy: "none", age_group: "adult", meal_g: 0,
      learned: "none", learn_steps: 30 };
    const next = withChange(choice, { values: { kp2: 0.01 } });
    expect(next.values).toEqual({ Vmx: 0.05, kp2: 0.01 });
    expect(choice.values).toEqual({ Vmx: 0.05 }); // the old choice is not mutated
    expect(withChange(choice, { patient: "child#001" }).patient).toBe("child#001");
    expect(withChange(choice, { policy: "mpc", meal_g: 40 })).toMatchObject({ policy: "mpc", meal_g: 40,
      values: { Vmx: 0.05 } });
  });
});

describe("builder policy", () => {
  const rec = { minute: 235, meal_g: 150, glucose_mg_dl: 161, iob_u: 3.5, requested_basal_u_per_h: 1.3695,
    delivered_basal_u_per_h: 1.3695, requested_bolus_u: 24.02, delivered_bolus_u: 5, reasons: ["max_bolus"],
    text: "dose at minute 235" };

  it("tabulates the asked-for and let-through dose with units", () => {
    expect(doseRows(rec)).toEqual([["basal", "1.37", "1.37", "U/h"], ["bolus", "24.02", "5.00", "U"]]);
    expect(doseRows({})).toEqual([]); // no policy built: no table
  });

  it("names the safety layer's clamps, or says the dose passed", () => {
    expect(clampText(rec)).toBe("safety layer: max_bolus");
    expect(clampText({ ...rec, reasons: [] })).toBe("safety layer: passed unchanged");
    expect(clampText({})).toBe("");
  });

  it("compares the learned part with the base model on the held-out readings", () => {
    const res = { steps: 30, loss_first: 1.7, loss_last: 0.4, held_out_min: 60, base_rmse_mg_dl: 9.0822,
      hybrid_rmse_mg_dl: 8.1152, text: "learned part" };
    expect(learnedRows(res)).toEqual([["base model (the twin's parameters)", "9.1 mg/dL"],
      ["hybrid after 30 steps", "8.1 mg/dL"]]);
    expect(learnedRows({})).toEqual([]);
  });

  it("states an age group's hard limits", () => {
    expect(limitsText([2, 5, 7])).toBe("≤ 2 U/h basal, ≤ 5 U bolus, ≤ 7 U on board");
    expect(limitsText(undefined)).toBe("");
  });
});

describe("inspector", () => {
  it("formats numbers, text and missing values for its tables", () => {
    expect(fmt(1.00123)).toBe("1.001");
    expect(fmt("mg/dL")).toBe("mg/dL");
    expect(fmt(null)).toBe("");
    expect(fmt(true)).toBe("true");
  });
});

describe("builder cell insertion", () => {
  it("asks for a cell by a bubbling, cancelable event and reports whether a listener took it", () => {
    const parent = new EventTarget();
    const child = { dispatchEvent: (e: Event) => parent.dispatchEvent(e) } as unknown as HTMLElement;
    expect(requestInsert(child, "x = 1")).toBe(false); // nobody listens: not inserted
    const seen: string[] = [];
    parent.addEventListener(INSERT_EVENT, (e) => {
      seen.push((e as CustomEvent).detail.code);
      e.preventDefault();
    });
    expect(requestInsert(child, "x = 1")).toBe(true);
    expect(seen).toEqual(["x = 1"]);
  });
});

describe("builder composition", () => {
  it("lays parts out in columns, left to right, the shorter columns centred", () => {
    const at = layout({
      nodes: [
        { id: "data", part: "data source", label: "", column: 0 },
        { id: "params", part: "parameters", label: "", column: 0 },
        { id: "fit", part: "personalisation", label: "", column: 1 },
      ],
      edges: [["data", "fit"], ["params", "fit"]],
    });
    expect(at.data.x).toBe(at.params.x);
    expect(at.params.y).toBeGreaterThan(at.data.y);
    expect(at.fit.x).toBeGreaterThan(at.data.x);
    expect(at.fit.y).toBeCloseTo((at.data.y + at.params.y) / 2);
  });
});
