/* Front-end view "attention": seq2seq on G2P (Python side: augrnn.viz.views.AttentionView).
 *
 * data = {steps, step_label, inputs: [letter], input_label?, outputs: [phone], weights: [step][letter],
 *         candidates: {tokens: [step][k], probs: [step][k]},
 *         decodings: [{name, phones, log_prob}], split, references: [[phone]]}
 * Draws the attention matrix (output phones x input letters) with the selected output step
 * outlined, and below it that step's attention over the letters and its most likely phones.
 * The editor is a text box holding the word.
 */
(function () {
  "use strict";
  const { el, PLOT_CONFIG } = window.AugrnnUtil;

  const FOCUS_COLOUR = "#e4572e";
  const range = (n) => Array.from({ length: n }, (_, i) => i);
  // plotly reads tick labels, titles and hover text as pseudo-HTML: "</s>" must be escaped to show ([<], not
  // a bare "<" then "/": the page inliner rewrites every "<" "/" pair, which would break the regular expression)
  const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/[<]/g, "&lt;").replace(/>/g, "&gt;");

  function summary(data) {
    const lines = [];
    for (const d of data.decodings) {
      lines.push(`${d.name}: /${d.phones.join(" ")}/ (log-probability ${d.log_prob.toFixed(2)})`);
    }
    if (data.references.length) {
      const refs = data.references.map((r) => `/${r.join(" ")}/`).join(", ");
      lines.push(`CMUdict (${data.split === "train" ? "training split" : `${data.split} split, never seen in training`}): ${refs}`);
    } else {
      lines.push("not a CMUdict headword: no reference pronunciation");
    }
    return el("div", { class: "summary" }, lines.map((line) => el("p", { class: "decoding", text: line })));
  }

  function matrixFigure(div, data) {
    const S = data.inputs.length, L = data.steps;
    const layout = {
      height: Math.max(260, Math.min(900, L * 22 + 120)),
      width: Math.max(360, Math.min(1100, S * 48 + 200)),
      margin: { l: 70, r: 20, t: 60, b: 20 },
      title: { text: `attention: output phones (rows) over ${data.input_label || "input letters"} (columns)`, font: { size: 13 } },
      xaxis: { side: "top", tickvals: range(S), ticktext: data.inputs, title: { text: data.input_label || "input letter" }, range: [-0.5, S - 0.5] },
      yaxis: { tickvals: range(L), ticktext: data.outputs.map(esc), autorange: "reversed", title: { text: data.step_label } },
      shapes: [{ type: "rect", xref: "x", yref: "y", x0: -0.5, x1: S - 0.5, y0: -0.5, y1: 0.5,
                 line: { color: FOCUS_COLOUR, width: 3 }, fillcolor: "rgba(0,0,0,0)" }],
    };
    const text = data.outputs.map((phone) => data.inputs.map((letter) => `${esc(phone)} ← ${letter}`));
    Plotly.newPlot(div, [{
      type: "heatmap", z: data.weights, x: range(S), y: range(L), text, name: "attention",
      colorscale: "Greys", reversescale: true, zmin: 0, zmax: 1, colorbar: { thickness: 10, title: { text: "α" } },
      hovertemplate: "output %{y}, letter %{x}: %{text}<br>attention %{z:.3f}<extra></extra>",
    }], layout, PLOT_CONFIG);
  }

  function stepFigure(div, data, t) {
    const S = data.inputs.length;
    const traces = [
      { type: "bar", x: range(S), y: data.weights[t], xaxis: "x", yaxis: "y", name: "attention", marker: { color: FOCUS_COLOUR },
        text: data.inputs, hovertemplate: "letter %{x} '%{text}': %{y:.3f}<extra></extra>" },
      { type: "bar", x: data.candidates.tokens[t].map(esc), y: data.candidates.probs[t], xaxis: "x2", yaxis: "y2", name: "next phone",
        marker: { color: data.candidates.tokens[t].map((p) => (p === data.outputs[t] ? "#1f77b4" : "#9ecae1")) },
        hovertemplate: "%{x}: p = %{y:.3f}<extra></extra>" },
    ];
    const layout = {
      height: 260, margin: { l: 50, r: 20, t: 40, b: 40 }, showlegend: false,
      title: { text: `${data.step_label} ${t}: '${esc(data.outputs[t])}'`, font: { size: 13 } },
      xaxis: { domain: [0, 0.55], tickvals: range(S), ticktext: data.inputs, title: { text: `its attention over the ${data.input_label || "letters"}` } },
      yaxis: { range: [0, 1] },
      xaxis2: { domain: [0.65, 1], anchor: "y2", type: "category", title: { text: "most likely phones at this step" } },
      yaxis2: { range: [0, 1], anchor: "x2" },
    };
    Plotly.react(div, traces, layout, PLOT_CONFIG);
  }

  function render(container, data) {
    container.appendChild(summary(data));
    const matrixDiv = el("div", { class: "plot attention-plot" });
    const stepDiv = el("div", { class: "plot step-plot" });
    container.appendChild(matrixDiv);
    container.appendChild(stepDiv);
    matrixFigure(matrixDiv, data);
    stepFigure(stepDiv, data, 0);
    return {
      setStep(t) {
        Plotly.relayout(matrixDiv, { "shapes[0].y0": t - 0.5, "shapes[0].y1": t + 0.5 });
        stepFigure(stepDiv, data, t);
      },
    };
  }

  /* A text box with the word; Enter or the button runs the model on it. */
  function editor(container, example, onChange, info) {
    container.innerHTML = "";
    const limit = (info && info.limits && info.limits.max_word_letters) || 40;
    const input = el("input", { type: "text", id: "word", value: example.word, maxlength: String(limit),
                                spellcheck: "false", autocomplete: "off", "aria-label": "word" });
    const button = el("button", { id: "run-word", text: "pronounce" });
    const submit = () => onChange({ word: input.value.trim().toLowerCase() });
    input.addEventListener("keydown", (event) => { if (event.key === "Enter") submit(); });
    button.addEventListener("click", submit);
    container.appendChild(el("div", { class: "controls" }, ["word", input, button]));
    container.appendChild(el("p", { class: "help", text: `Type any word (letters a-z and ', at most ${limit}) and press Enter; it need not be in the dictionary.` }));
  }

  window.AugrnnViews.register("attention", { render, editor });
})();
