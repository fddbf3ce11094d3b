// Exports nsfwjs@4.4.0's InceptionV3 up to mixed5 (the frozen ImageNet layers) in a form PyTorch reads without
// JavaScript: backbone.json (layer list and the weights' uint8 quantisation) and backbone.u8 (the quantised
// bytes). Node runs the package's UMD bundles itself, so no JS parsing is re-implemented here.
// Usage: node export_nsfwjs.js NSFWJS_INCEPTION_DIR OUT_DIR
'use strict';
const fs = require('fs');
const path = require('path');

const [dir, out] = process.argv.slice(2);
if (!dir || !out) {
  console.error('usage: node export_nsfwjs.js NSFWJS_INCEPTION_DIR OUT_DIR (see models/fetch-nsfwjs.sh)');
  process.exit(2);
}
if (!fs.existsSync(path.join(dir, 'model.min.js'))) {
  console.error('no model.min.js in ' + dir + ': give nsfwjs@4.4.0\'s dist/models/inception_v3 (models/fetch-nsfwjs.sh prints it)');
  process.exit(1);
}
const model = require(path.resolve(dir, 'model.min.js'));
const manifest = model.weightsManifest;
if (manifest.length !== 1) throw new Error('expected one weight group, found ' + manifest.length);
const blob = Buffer.concat(manifest[0].paths.map(p => Buffer.from(require(path.resolve(dir, p + '.min.js')), 'base64')));

const layers = [];
for (const l of model.modelTopology.model_config.config.layers) {
  const c = l.config;
  layers.push({
    name: l.name, type: l.class_name,
    inputs: (l.inbound_nodes[0] || []).map(node => node[0]),
    kernel: c.kernel_size || c.pool_size || null, strides: c.strides || null,
    padding: c.padding || null, activation: c.activation || null, epsilon: c.epsilon || null,
    scale: c.scale === undefined ? null : c.scale,
  });
  if (l.name === 'mixed5') break;
}
const wanted = new Set(layers.map(l => l.name));
const weights = [];
const parts = [];
let offset = 0, kept = 0;
for (const w of manifest[0].weights) {
  const size = w.shape.reduce((a, b) => a * b, 1);
  if (w.dtype !== 'float32' || !w.quantization || w.quantization.dtype !== 'uint8') {
    throw new Error(w.name + ': expected uint8-quantised float32 weights');
  }
  if (wanted.has(w.name.split('/')[0])) {
    weights.push({ name: w.name, shape: w.shape, min: w.quantization.min, scale: w.quantization.scale, offset: kept });
    parts.push(blob.subarray(offset, offset + size));
    kept += size;
  }
  offset += size;
}
if (offset !== blob.length) throw new Error('weights cover ' + offset + ' bytes of ' + blob.length);
fs.mkdirSync(out, { recursive: true });
fs.writeFileSync(path.join(out, 'backbone.u8'), Buffer.concat(parts));
fs.writeFileSync(path.join(out, 'backbone.json'), JSON.stringify({ source: 'nsfwjs@4.4.0 ' + dir, layers, weights }));
console.log('exported ' + layers.length + ' layers, ' + weights.length + ' tensors, ' + kept + ' bytes to ' + out);
