// Times ONNX Runtime (npm onnxruntime-node, CPU, fp32) on the graph export_onnx.py wrote: the mean of ITERATIONS
// runs after WARMUP, batch 1, THREADS intra-op threads; checks the map against PyTorch's first.
// usage: node ort_time.js DIR ITERATIONS WARMUP THREADS   (NODE_PATH: where onnxruntime-node is installed)
const fs = require('fs');
const ort = require('onnxruntime-node');

async function main() {
  const [dir, iterations, warmup, threads] = process.argv.slice(2);
  if (!dir || !(iterations > 0) || !(warmup >= 0) || !(threads > 0)) {
    throw new Error('usage: node ort_time.js DIR ITERATIONS WARMUP THREADS');
  }
  const session = await ort.InferenceSession.create(`${dir}/maps.onnx`, {
    executionProviders: ['cpu'], intraOpNumThreads: Number(threads), interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  const pixels = fs.readFileSync(`${dir}/image.u8`);
  const side = Math.round(Math.sqrt(pixels.length / 3));  // export_onnx.py writes square test images only
  const image = new ort.Tensor('uint8', new Uint8Array(pixels), [1, side, side, 3]);
  const expected = new Float32Array(fs.readFileSync(`${dir}/expected.f32`).buffer.slice(0));
  const first = (await session.run({ image })).map.data;
  let worst = 0, largest = 0;
  for (let i = 0; i < expected.length; ++i) {
    worst = Math.max(worst, Math.abs(first[i] - expected[i]));
    largest = Math.max(largest, Math.abs(expected[i]));
  }
  for (let i = 0; i < Number(warmup); ++i) await session.run({ image });
  const start = process.hrtime.bigint();
  for (let i = 0; i < Number(iterations); ++i) await session.run({ image });
  const ms = Number(process.hrtime.bigint() - start) / 1e6 / Number(iterations);
  console.log(`onnxruntime ${ort.env.versions ? ort.env.versions.common : ''} fp32 ${ms.toFixed(1)} ms ` +
              `map diff vs pytorch ${(worst / largest).toExponential(2)}`);
}

main().catch((e) => { console.error(`ort_time.js: ${e.message}`); process.exit(1); });
