// The notebook API (tslab): declare an experiment in a cell, run it with a progress bar and live
// charts, show figures, look at exported adapters.
//
//   import { peft, run, show } from "peftlab";
//   const exp = peft`model base = decoder { layers 2, width 64 } …`;   // diagnostics or plan, never throws
//   const out = await run(exp);                                         // progress + live charts; result.json + summary.json
//
// Outside a tslab kernel nothing is displayed and every function just returns its value.

export { compileExperiment, Experiment, joinTemplate, peft, peftFile, type ExperimentOptions } from "./experiment.js";
export { experimentHtml, experimentText, jobCount } from "./experiment-view.js";
export { run, type ExportedAdapter, type NotebookRun, type NotebookRunOptions } from "./run.js";
export { bundleSink, figuresFor, show, showHtml, showSummary, showText, type FigureSource, type Showable } from "./show.js";
export { summaryHtml, summaryText, pairText } from "./summary-view.js";
export { adapterHtml, describeAdapter, showAdapter, type AdapterDescription } from "./adapter.js";
export { progressHtml, progressText } from "./progress.js";
export { ProgressState, type JobProgress } from "../results/progress.js";
export { ensurePlotly, figureData, plotlyLoaderHtml, plotlySent, resetPlotlySent } from "./plotly.js";
export { channel, connect, disconnect, display, isLive, Output } from "./session.js";
export {
  channelFromTslab, detectTslab, findKernelWriter, newDisplayId, NULL_CHANNEL, publicApiChannel, writerChannel,
  type DisplayChannel, type DisplayContent, type KernelWriter, type MimeData, type TslabDisplay, type TslabModule,
} from "./channel.js";
// Typed access to a run's events (e.g. notebook.beamPrunes(out.runs[1])), as the figures read them.
export { beamImportance, beamPrunes, eventsOf, lightPrunes, maskEvents } from "../viz/rundata.js";
export type { RunData } from "../results/run-data.js";
