// Line charts over epochs with uPlot: one chart per family of metrics, or one metric of several jobs.
import uPlot from "../vendor/uplot/uPlot.esm.js";

const COLORS = ["#2f6fde", "#e8590c", "#2f9e44", "#ae3ec9", "#c92a2a", "#1098ad", "#f08c00", "#5c940d", "#862e9c", "#495057"];

// Families drawn together, as people compare them: train vs validation loss on one chart.
export const PANELS = [
  { title: "Loss", names: ["train_loss", "val_loss"] },
  { title: "Accuracy", names: ["train_accuracy", "val_accuracy"] },
  { title: "Error", names: ["val_mae", "val_rmse"] },
  { title: "Learning rate", names: ["lr"] },
];

// How a series is drawn: "line" (the default), "points" (dots, no line) or "steps" (a line that holds its value).
function drawing(style) {
  if (style === "points") return { paths: () => null, points: { show: true, size: 7 } };
  if (style === "steps") return { paths: uPlot.paths.stepped({ align: 1 }) };
  return {};
}

function options(width, labels, log, { xLabel, legend, styles, wholeX }) {
  return {
    width,
    height: 220,
    scales: { x: { time: false }, y: log ? { distr: 3 } : {} },
    axes: [{ label: xLabel, ...(wholeX ? { incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000] } : {}) }, { size: 60 }],
    series: [{ label: xLabel }, ...labels.map((label, i) => ({
      label,
      stroke: COLORS[i % COLORS.length],
      width: 1.6,
      spanGaps: true,
      value: (_, v) => (v === null || v === undefined ? "–" : Number(v).toPrecision(4)),
      ...drawing(styles[i]),
    }))],
    legend: { show: legend, live: true },
  };
}

// A log axis cannot show zero or less: those points become gaps.
function aligned(tables, log) {
  return uPlot.join(tables.map(([xs, ys]) => [xs.slice(), log ? ys.map((v) => (v > 0 ? v : null)) : ys.slice()]));
}

export class LineChart {
  // labels: one per series; tables: for each series [xs, ys]. A chart of many series may go without its legend;
  // styles: how each series is drawn (see drawing); wholeX: ticks on whole numbers only (trial numbers).
  constructor(container, labels, { log = false, xLabel = "epoch", legend = true, styles = [], wholeX = false } = {}) {
    this.container = container;
    this.labels = labels;
    this.log = log;
    this.look = { xLabel, legend, styles, wholeX };
    this.tables = labels.map(() => [[], []]);
    this.plot = null;
    this.build();
    this.resize = new ResizeObserver(() => this.plot?.setSize({ width: this.width(), height: 220 }));
    this.resize.observe(container);
  }

  width() {
    return Math.max(300, this.container.clientWidth - 16);
  }

  build() {
    this.plot?.destroy();
    this.plot = new uPlot(options(this.width(), this.labels, this.log, this.look), this.data(), this.container);
    this.container.dataset.log = String(this.log);
  }

  data() {
    const points = this.tables.reduce((sum, [xs]) => sum + xs.length, 0);
    this.container.dataset.points = String(points);
    return aligned(this.tables, this.log);
  }

  setTables(tables) {
    this.tables = tables;
    this.plot.setData(this.data());
  }

  setLog(log) {
    if (log === this.log) return;
    this.log = log;
    this.build();
  }

  destroy() {
    this.resize.disconnect();
    this.plot?.destroy();
  }
}
