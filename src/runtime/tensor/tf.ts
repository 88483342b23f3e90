// The one way runtime code imports TensorFlow.js.
//
// tfjs-core alone registers neither gradients nor chained tensor methods (x.reshape(…)). In
// Node, tfjs-core's entry point is a CommonJS bundle, while its deep `dist/*.js` files are ES
// modules: importing those side-effect files would load a second copy of the tensor class and
// op handler. The umbrella @tensorflow/tfjs package's Node bundle registers gradients and chained
// ops against the same CommonJS copy the backends use, so we go through it.
export * from "@tensorflow/tfjs";
