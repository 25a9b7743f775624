// Written by ATRAP Studio (atrap_studio/runtime/webpage.py): a network file's layers in plain
// JavaScript, in float64, shared by every page that runs a policy.
"use strict";

/**
 * The policy of a network in its JSON form: a function from one observation (an array) to the
 * raw network outputs. `layers` are the kinds and constants webpage.py read from the module,
 * `parameters` the network's weights by name ("0.weight", ...).
 */
function atrapNetwork(layers, parameters) {
  const flat = (values) => Float64Array.from(values.flat(Infinity));
  const SQRT_PI = Math.sqrt(Math.PI);

  /** erfc to ~1e-15: the Taylor series of erf near 0, Laplace's continued fraction beyond. */
  function erfc(x) {
    if (x >= 2.5) return erfcTail(x);
    if (x <= -2.5) return 2 - erfcTail(-x);
    const x2 = x * x;
    let term = x, sum = x;
    for (let n = 1; n < 80 && Math.abs(term) > 1e-17 * Math.abs(sum); n++) {
      term *= -x2 / n;
      sum += term / (2 * n + 1);
    }
    return 1 - (2 / SQRT_PI) * sum;
  }
  function erfcTail(x) {
    let k = x;
    for (let n = 60; n >= 1; n--) k = x + n / 2 / k;
    return Math.exp(-x * x) / (SQRT_PI * k);
  }

  const ACTIVATIONS = {
    tanh: () => Math.tanh,
    relu: () => (x) => (x > 0 ? x : 0),
    elu: (l) => (x) => (x > 0 ? x : l.alpha * Math.expm1(x)),
    gelu: () => (x) => 0.5 * x * erfc(-x * Math.SQRT1_2),
    silu: () => (x) => x / (1 + Math.exp(-x)),
    leaky_relu: (l) => (x) => (x > 0 ? x : l.slope * x),
    sigmoid: () => (x) => 1 / (1 + Math.exp(-x)),
  };

  const LAYERS = layers.map((layer, i) => {
    if (layer.kind === "linear" || layer.kind === "layernorm")
      return { ...layer, w: flat(parameters[i + ".weight"].values), b: flat(parameters[i + ".bias"].values) };
    if (layer.kind === "normalize")
      return { ...layer, mean: flat(parameters[i + ".mean"].values), v: flat(parameters[i + ".var"].values) };
    return { ...layer, f: ACTIVATIONS[layer.kind](layer) };
  });

  function linear(layer, x) {
    const y = new Float64Array(layer.out);
    for (let o = 0; o < layer.out; o++) {
      let s = layer.b[o];
      const row = o * layer.in;
      for (let i = 0; i < layer.in; i++) s += layer.w[row + i] * x[i];
      y[o] = s;
    }
    return y;
  }

  function layerNorm(layer, x) {
    const n = x.length;
    let mean = 0;
    for (let i = 0; i < n; i++) mean += x[i];
    mean /= n;
    let variance = 0;
    for (let i = 0; i < n; i++) variance += (x[i] - mean) ** 2;
    const scale = 1 / Math.sqrt(variance / n + layer.eps);
    return x.map((v, i) => (v - mean) * scale * layer.w[i] + layer.b[i]);
  }

  /** Inputs scaled by the statistics seen in training, clipped (networks.Normalize). */
  function normalize(layer, x) {
    return x.map((value, i) => {
      const scaled = (value - layer.mean[i]) / Math.sqrt(layer.v[i] + layer.eps);
      return Math.min(layer.clip, Math.max(-layer.clip, scaled));
    });
  }

  return function policy(observation) {
    let x = Float64Array.from(observation);
    for (const layer of LAYERS) {
      if (layer.kind === "linear") x = linear(layer, x);
      else if (layer.kind === "layernorm") x = layerNorm(layer, x);
      else if (layer.kind === "normalize") x = normalize(layer, x);
      else x = x.map(layer.f);
    }
    return Array.from(x);
  };
}

/** Base64url (no padding) to text: how the test hooks receive their cases in the URL. */
function atrapFromBase64Url(text) {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const bytes = Uint8Array.from(atob(b64 + "===".slice((b64.length + 3) % 4)), (c) => c.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}
